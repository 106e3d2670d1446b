"""Colorize one shot: the unit a file run, a live preview or a cluster task calls.

Given a shot's working-resolution luma, its optical flows, its planned hints and a model,
:func:`colorize_shot` tracks the hints through the shot, rasterizes them, runs the network
in batches and smooths the result over time. It reads nothing but its arguments and writes
nothing but through ``write``, so the same shot gives the same chroma wherever it runs.

Flows come as a :data:`FlowPairs` callable: ``flows(k)`` is the ``(fwd, bwd)`` pair linking
frames ``shot.start + k`` and ``shot.start + k + 1`` (:func:`compute_shot_flows` makes them
in memory; a file run reads them from its work folder).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Generic, TypeVar

import numpy as np
import torch

from vidcolor.color import gray_to_lightness
from vidcolor.hints.format import FrameHints
from vidcolor.hints.match import apply_palette
from vidcolor.hints.rasterize import rasterize_hints
from vidcolor.hints.track import ShotFlows, track_hints
from vidcolor.options import RunOptions, TemporalOptions
from vidcolor.run.cancel import CancelToken
from vidcolor.run.model import ChromaModel
from vidcolor.run.plan import HintFrames, LumaSource, ShotHints
from vidcolor.temporal import smooth
from vidcolor.temporal.flow import FlowEstimator, forward_backward_mask
from vidcolor.temporal.shots import Shot

#: Frames per temporal-smoothing call (fixed, so results never depend on ``batch_size``).
SMOOTH_CHUNK = 16

#: ``flows(k)`` -> ``(fwd, bwd)``, each ``(h, w, 2)`` float32, of the pair
#: ``(shot.start + k, shot.start + k + 1)``.
FlowPairs = Callable[[int], tuple[np.ndarray, np.ndarray]]
#: ``write(i, ab)`` stores the final ``(h, w, 2)`` float32 chroma of frame ``i``.
ChromaSink = Callable[[int, np.ndarray], None]

T = TypeVar("T")


def compute_shot_flows(luma: LumaSource, shot: Shot,
                       cancel: CancelToken | None = None
                       ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Optical flow (``temporal.flow``) of every consecutive pair of a shot, in order.

    Args:
        luma: working-resolution luma by frame index.
        shot: the shot.
        cancel: checked between pairs.

    Yields:
        ``(fwd, bwd)`` of pair ``k`` for ``k = 0 .. len(shot) - 2``.
    """
    estimator = FlowEstimator()
    prev = luma(shot.start)
    for index in range(shot.start + 1, shot.stop):
        if cancel is not None:
            cancel.check()
        cur = luma(index)
        yield estimator.pair(prev, cur)
        prev = cur


class LazyRecords(Sequence, Generic[T]):
    """A read-only, lazy sequence view of ``count`` items computed by ``get(i)``."""

    def __init__(self, get: Callable[[int], T], count: int):
        self._get, self._count = get, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: int | slice) -> T | list[T]:  # type: ignore[override]
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(self._count))]
        if not -self._count <= i < self._count:
            raise IndexError(i)
        return self._get(i % self._count)


def shot_flow_views(shot: Shot, flows: FlowPairs) -> ShotFlows:
    """The shot's flows and consistency masks as ``hints.track.ShotFlows`` (read on demand).

    The masks are ``temporal.flow.forward_backward_mask``: the one forward-backward test.
    """
    n = max(0, len(shot) - 1)

    def fwd_ok(k: int) -> np.ndarray:
        fwd, bwd = flows(k)
        return forward_backward_mask(fwd, bwd)

    def bwd_ok(k: int) -> np.ndarray:
        fwd, bwd = flows(k)
        return forward_backward_mask(bwd, fwd)

    return ShotFlows(
        forward=LazyRecords(lambda k: flows(k)[0], n),
        backward=LazyRecords(lambda k: flows(k)[1], n),
        forward_ok=LazyRecords(fwd_ok, n),
        backward_ok=LazyRecords(bwd_ok, n),
    )


def hint_sources(hints: ShotHints) -> HintFrames:
    """Every frame a shot's hints start from: its hint frames combined with borrowed hints.

    Reference points sit in ``borrowed`` at the hint frame's own index: they are combined
    with that frame's hints, never replace them.
    """
    sources = dict(hints.borrowed)
    for index, frame_hints in hints.frames.items():
        sources[index] = frame_hints.combined(sources[index]) if index in sources else frame_hints
    return sources


def track_shot_hints(shot: Shot, flows: FlowPairs, hints: ShotHints,
                     shape: tuple[int, int], luma: LumaSource | None = None,
                     views: ShotFlows | None = None,
                     view_cache: MutableMapping[int, object] | None = None) -> HintFrames:
    """Per-frame hints of a shot: its hint frames carried along the flows (``hints.track``).

    Args:
        shot: the shot.
        flows: the shot's flow pairs.
        hints: the shot's own and borrowed hint frames.
        shape: working resolution ``(h, w)``.
        luma: working-resolution luma by frame index, the frames the flows were computed
            on: tracking checks by appearance where the flow is in doubt. Without it a
            point is dropped at the first doubtful mask.
        views: the same flows with their consistency masks already at hand (a preview
            keeps them per shot); default :func:`shot_flow_views` of ``flows``.
        view_cache: tracking's smoothed copies of ``luma`` by frame index, kept by the
            caller across calls (``hints.track.track_hints``).

    Returns:
        ``{frame index: FrameHints}`` for every frame of the shot that a hint reaches.
    """
    sources = hint_sources(hints)
    if not sources:
        return {}
    h, w = shape
    frames = None if luma is None else LazyRecords(lambda k: luma(shot.start + k), len(shot))
    if views is None:
        views = shot_flow_views(shot, flows)
    tracked = track_hints(shot.start, shot.stop, sources, views, h, w, luma=frames,
                          view_cache=view_cache)
    return {shot.start + k: fh for k, fh in enumerate(tracked) if not fh.empty}


def rasterize(frame_hints: FrameHints, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Dense hint chroma and mask of one frame's hints (``hints.rasterize``).

    Returns:
        ``(ab (h, w, 2) float32, mask (h, w) float32)``.
    """
    return rasterize_hints(frame_hints, shape[0], shape[1])


class TemporalSmoother:
    """Temporal smoothing of one shot fed in chunks (``temporal.smooth``), explicit state.

    The smoother lags by ``options.window`` frames: :meth:`push` returns the frames that
    became final, :meth:`finish` the rest. A new instance starts each shot (state reset).

    Args:
        options: temporal options.
        device: where the smoothing runs: the model's device (``"cpu"`` or ``"cuda"``).
    """

    def __init__(self, options: TemporalOptions, device: str = "cpu"):
        self.options = options
        self.device = device
        self.state = smooth.TemporalState()

    def push(self, ab: np.ndarray, luma: np.ndarray, fwd: np.ndarray,
             bwd: np.ndarray) -> np.ndarray:
        """Smooth the next chunk of the shot.

        Args:
            ab: ``(N, h, w, 2)`` float32 network chroma.
            luma: ``(N, h, w)`` uint8 luma.
            fwd: ``(N, h, w, 2)`` float32; row ``i`` is the flow from the previous frame to
                frame ``i`` (zeros for the shot's first frame).
            bwd: ``(N, h, w, 2)`` float32; the flow back from frame ``i`` to the previous.

        Returns:
            ``(K, h, w, 2)`` float32: the next ``K`` finished frames of the shot.
        """
        tensor = torch.from_numpy(np.ascontiguousarray(ab)).permute(0, 3, 1, 2).to(self.device)
        out, self.state = smooth.smooth(tensor, luma,
                                        smooth.flows_channels_first(fwd, bwd, self.device),
                                        self.state, self.options)
        return out.permute(0, 2, 3, 1).cpu().numpy()

    def finish(self) -> np.ndarray | None:
        """The shot's frames still pending, ``(K, h, w, 2)`` float32, or None."""
        out, self.state = smooth.flush(self.state, self.options)
        return None if out is None else out.permute(0, 2, 3, 1).cpu().numpy()


def colorize_shot(
    shot: Shot,
    luma: LumaSource,
    flows: FlowPairs,
    hints: ShotHints,
    model: ChromaModel,
    options: RunOptions,
    write: ChromaSink,
    cancel: CancelToken | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Colorize one shot at working resolution: track, rasterize, infer, smooth.

    The result depends only on the shot's luma, its flows and its hints, never on other
    shots or on ``batch_size``: ``--resume`` and remote workers rely on it.

    Args:
        shot: the shot.
        luma: ``(h, w)`` uint8 working-resolution luma by frame index.
        flows: the shot's flow pairs.
        hints: the shot's hint frames and borrowed hints (:func:`run.plan.plan_shot_hints`).
        model: the loaded network.
        options: run options (batch size, temporal smoothing).
        write: receives every frame's final chroma, in frame order.
        cancel: checked between batches.
        progress: called with the number of frames of the shot finished so far.
    """
    h, w = luma(shot.start).shape
    tracked = track_shot_hints(shot, flows, hints, (h, w), luma)
    smoother = (TemporalSmoother(options.temporal, model.device)
                if options.temporal.enabled else None)
    emitted = shot.start
    zero_flow = np.zeros((h, w, 2), np.float32)
    for chunk_start in range(shot.start, shot.stop, SMOOTH_CHUNK):
        if cancel is not None:
            cancel.check()
        indices = range(chunk_start, min(chunk_start + SMOOTH_CHUNK, shot.stop))
        grays = np.stack([luma(i) for i in indices])
        hint_ab = np.zeros((len(indices), h, w, 2), np.float32)
        hint_mask = np.zeros((len(indices), h, w), np.float32)
        for j, i in enumerate(indices):
            if i in tracked:
                hint_ab[j], hint_mask[j] = rasterize(tracked[i], (h, w))
        lightness = gray_to_lightness(grays)
        ab = model.predict(lightness, hint_ab, hint_mask, max(1, options.model.batch_size))
        if hints.palette is not None:
            ab = np.stack([apply_palette(lightness[j], ab[j], hints.palette)
                           for j in range(len(ab))])
        if smoother is not None:
            pairs = [flows(i - shot.start - 1) if i > shot.start else (zero_flow, zero_flow)
                     for i in indices]
            ab = smoother.push(ab, grays, np.stack([p[0] for p in pairs]),
                               np.stack([p[1] for p in pairs]))
        for frame_ab in ab:
            write(emitted, frame_ab)
            emitted += 1
        if progress is not None:
            progress(emitted - shot.start)
    if smoother is not None:
        rest = smoother.finish()
        for frame_ab in rest if rest is not None else ():
            write(emitted, frame_ab)
            emitted += 1
    if emitted != shot.stop:
        raise RuntimeError(f"shot {shot.index}: {emitted - shot.start} frames colored, "
                           f"expected {len(shot)}")
    if progress is not None:
        progress(len(shot))
