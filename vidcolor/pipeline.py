"""The only module that wires the stages together (see ``docs/ARCHITECTURE.md``).

A video run has three passes:

1. **Analysis** (streaming decode of luma at working resolution): cut detection, per-shot
   descriptors for cross-shot hint borrowing, and the working-resolution luma of every frame
   spilled to the work folder ``<output>.vidcolor-work/``.
2. **Per shot**: optical flow (a worker thread, one shot ahead), hint tracking with those
   flows, cross-shot borrowing, rasterization, batched inference and temporal smoothing with
   its state reset at the cut. A finished shot's working-resolution chroma is written to the
   work folder and marked done; ``--resume`` skips it.
3. **Encode** (decode thread -> bounded queue -> compose -> bounded queue -> encode thread):
   each full-resolution frame keeps its Y plane; its U/V planes are computed from the
   lightness of that Y and the shot's chroma, upsampled guided by the luma.

Memory is bounded by a few frames plus one shot's hint data: frames, flows and chroma go
through fixed-record files in the work folder (plain ``pread``/``pwrite``), never growing
lists. The compose step and the image/frame entry points are pure array functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidcolor.color import gray_to_lightness, merge_lightness_ab
from vidcolor.errors import Cancelled, DecodeError, InputError, OutputError
from vidcolor.frames import ColoredFrame, FrameTime
from vidcolor.options import ModelOptions, RunOptions, TemporalOptions
from vidcolor.temporal.shots import Shot, shots_from_cuts

log = logging.getLogger("vidcolor")

#: Bump when the work-folder layout or the per-shot computation changes: old work is redone.
WORK_FORMAT = 2
#: Frames in flight between the decode, compose and encode threads.
QUEUE_DEPTH = 4
#: Frames per temporal-smoothing call (fixed, so results never depend on ``batch_size``).
SMOOTH_CHUNK = 16

OnFrame = Callable[[ColoredFrame], Any]


# --------------------------------------------------------------------------- geometry


def working_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """The working resolution of a frame: shorter side ``size``, both sides multiples of 8.

    A frame smaller than that is not enlarged (its shorter side is only rounded to a
    multiple of 8): upsampling adds no detail for the network, only work.

    Args:
        height: full-resolution height in pixels (>= 1).
        width: full-resolution width in pixels (>= 1).
        size: the target shorter side (``ModelOptions.working_size``).

    Returns:
        ``(h, w)``, each a positive multiple of 8.
    """
    scale = min(1.0, size / min(height, width))
    h = max(8, int(round(height * scale / 8.0)) * 8)
    w = max(8, int(round(width * scale / 8.0)) * 8)
    return h, w


# --------------------------------------------------------------------------- compose (pure)


def upsample_ab(
    ab: np.ndarray, guide: np.ndarray, *, radius: int | None = None, eps: float = 1e-3,
    backend: str = "opencv",
) -> np.ndarray:
    """Upsample working-resolution chroma to the size of ``guide``, snapping it to luma edges.

    Bilinear upsampling followed by a guided filter (He et al.) whose guide is the luma at
    the target size. ``backend="opencv"`` (``cv2.ximgproc.guidedFilter``) is the CPU path:
    measured 10-40x faster than kornia's ``guided_blur`` on the CPU with the same result
    (see ``benchmarks/README.md``); ``backend="kornia"`` runs on torch (any device).

    Args:
        ab: ``(h, w, 2)`` float32 chroma, about [-128, 127].
        guide: ``(H, W)`` uint8 full-range luma at the target size.
        radius: guided-filter radius in target pixels; default twice the upsampling factor.
        eps: regularisation in squared guide units (guide scaled to [0, 1]).
        backend: ``"opencv"``, ``"kornia"`` (on the CPU) or a torch device name such as
            ``"cuda:0"`` (kornia on that device).

    Returns:
        ``(H, W, 2)`` float32 chroma.
    """
    height, width = guide.shape
    up = cv2.resize(np.ascontiguousarray(ab, np.float32), (width, height),
                    interpolation=cv2.INTER_LINEAR)
    if radius is None:
        radius = max(2, int(np.ceil(2.0 * max(width / ab.shape[1], height / ab.shape[0]))))
    guide_f = guide.astype(np.float32) * (1.0 / 255.0)
    if backend != "opencv":
        import torch
        from kornia.filters import guided_blur

        device = torch.device("cpu" if backend == "kornia" else backend)
        g = torch.from_numpy(guide_f).to(device, non_blocking=True)[None, None]
        x = torch.from_numpy(up).to(device, non_blocking=True).permute(2, 0, 1)[None]
        out = guided_blur(g, x.contiguous(), 2 * radius + 1, eps)
        return out[0].permute(1, 2, 0).contiguous().cpu().numpy()
    return cv2.ximgproc.guidedFilter(guide_f, up, radius, eps)


def chroma_from_lab(
    gray: np.ndarray, ab: np.ndarray, *, matrix: str, full_range: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The U and V planes of pixels with lightness from ``gray`` and chroma ``ab``.

    Args:
        gray: ``(h, w)`` uint8 full-range luma at chroma resolution.
        ab: ``(h, w, 2)`` float32 chroma at the same size.
        matrix: the output's Y'CbCr matrix (``VideoWriter.matrix``: ``"bt709"``, ...).
        full_range: write full-range (JPEG) chroma instead of limited (MPEG) range.

    Returns:
        ``(u, v)``: ``(h, w)`` uint8 planes.
    """
    from vidcolor.io.encode import rgb_to_yuv

    lab = np.concatenate([gray_to_lightness(gray)[..., None], ab.astype(np.float32)], axis=2)
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)
    _, u, v = rgb_to_yuv(rgb, matrix=matrix, full_range=full_range)
    return u, v


def colorize_gray(gray: np.ndarray, ab: np.ndarray, *, backend: str = "opencv") -> np.ndarray:
    """Full-resolution sRGB from a gray image and its working-resolution chroma.

    The lightness of every output pixel is the lightness of ``gray``.

    Args:
        gray: ``(H, W)`` uint8 full-range gray.
        ab: ``(h, w, 2)`` float32 chroma at working resolution.
        backend: guided-filter backend (see :func:`upsample_ab`).

    Returns:
        ``(H, W, 3)`` uint8 sRGB.
    """
    ab_full = upsample_ab(ab, gray, backend=backend)
    return merge_lightness_ab(gray_to_lightness(gray), ab_full)


def compose_chroma(
    gray: np.ndarray, ab: np.ndarray, chroma_size: tuple[int, int], *, matrix: str,
    full_range: bool, backend: str = "opencv",
) -> tuple[np.ndarray, np.ndarray]:
    """The U and V planes of one output frame (its Y plane is the input's, untouched).

    The frame's luma is brought to the chroma plane size, the working-resolution chroma is
    upsampled to that size guided by it (:func:`upsample_ab`), and U/V are computed from
    (L of the input luma, ab) with the output's matrix and range.

    Args:
        gray: ``(H, W)`` uint8 full-range luma of the full-resolution frame.
        ab: ``(h, w, 2)`` float32 working-resolution chroma of the frame.
        chroma_size: ``(width, height)`` of the output's chroma planes.
        matrix: the output's Y'CbCr matrix (``VideoWriter.matrix``).
        full_range: full-range chroma codes instead of limited range.
        backend: guided-filter backend (see :func:`upsample_ab`).

    Returns:
        ``(u, v)``, each ``(height, width)`` uint8.
    """
    cw, ch = chroma_size
    gray_c = gray if gray.shape == (ch, cw) else cv2.resize(gray, (cw, ch),
                                                             interpolation=cv2.INTER_AREA)
    ab_c = upsample_ab(ab, gray_c, backend=backend)
    return chroma_from_lab(gray_c, ab_c, matrix=matrix, full_range=full_range)


# --------------------------------------------------------------------------- run report


@dataclass(frozen=True)
class RunReport:
    """What a video run did.

    Attributes:
        input: the source path.
        output: the written file.
        frames: frames written.
        seconds: wall-clock seconds of the whole run.
        fps: ``frames / seconds``.
        shots: number of shots found.
        cuts: first frame index of every shot after the first.
        borrowed: ``{shot: source shot}`` for every unhinted shot that took its colors
            from another shot.
        decode_errors_filled: frames that failed to decode and were filled from a neighbour.
        resumed_shots: shots taken from an earlier, interrupted run (``--resume``).
    """

    input: str
    output: str
    frames: int
    seconds: float
    fps: float
    shots: int
    cuts: tuple[int, ...] = ()
    borrowed: dict[int, int] = field(default_factory=dict)
    decode_errors_filled: int = 0
    resumed_shots: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able values."""
        data = asdict(self)
        data["cuts"] = list(self.cuts)
        data["borrowed"] = {str(k): v for k, v in self.borrowed.items()}
        return data


# --------------------------------------------------------------------------- work folder


class RecordFile:
    """Fixed-size array records in a plain file, read and written by index.

    The work folder's spill format: frame ``i`` lives at byte ``i * record_size``. Reads and
    writes are ``os.pread``/``os.pwrite``, so memory does not grow with the file.

    Args:
        path: the file; created if missing.
        shape: shape of one record.
        dtype: NumPy dtype of one record.
    """

    def __init__(self, path: str | Path, shape: tuple[int, ...], dtype: Any):
        self.path = Path(path)
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.record_size = int(np.prod(self.shape)) * self.dtype.itemsize
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def __len__(self) -> int:
        return os.fstat(self._fd).st_size // self.record_size

    def write(self, index: int, array: np.ndarray) -> None:
        """Store record ``index``."""
        data = np.ascontiguousarray(array, self.dtype)
        if data.shape != self.shape:
            raise ValueError(f"record shape {data.shape}, expected {self.shape}")
        try:
            os.pwrite(self._fd, data.tobytes(), index * self.record_size)
        except OSError as exc:
            raise OutputError(f"cannot write the work file ({exc.strerror})",
                              path=self.path) from exc

    def read(self, index: int) -> np.ndarray:
        """Load record ``index`` (a fresh array)."""
        data = os.pread(self._fd, self.record_size, index * self.record_size)
        if len(data) != self.record_size:
            raise OutputError(f"record {index} is missing from the work file", path=self.path)
        return np.frombuffer(data, self.dtype).reshape(self.shape).copy()

    def flush(self) -> None:
        """Push written records to the disk (``fsync``)."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file descriptor (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RecordFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def work_dir_for(dst: str | Path) -> Path:
    """The work folder of an output file: ``<output>.vidcolor-work`` beside it."""
    dst = Path(dst)
    return dst.with_name(dst.name + ".vidcolor-work")


# Bytes per working-resolution pixel per frame that stay in the work folder for the whole
# run: luma (uint8) and finished chroma (2 x int8). A shot's flows come and go with it.
WORK_BYTES_PER_PIXEL = 3


def work_bytes_estimate(info: Any, shape: tuple[int, int]) -> int | None:
    """Disk space a run needs for its work folder and output, or None when unknown.

    Args:
        info: the input's ``io.probe.probe`` result.
        shape: ``(h, w)`` working resolution.

    Returns:
        Bytes: every frame's luma and chroma at working resolution, plus the input's size
        as a guide to the output's.
    """
    frames = info.frame_count
    if frames is None and info.duration and info.average_rate:
        frames = int(info.duration * float(info.average_rate)) + 1
    if frames is None:
        return None
    h, w = shape
    return frames * h * w * WORK_BYTES_PER_PIXEL + info.path.stat().st_size


def check_free_space(folder: Path, needed: int | None) -> None:
    """Refuse to start a run that would fill the disk hours in.

    Raises:
        OutputError: ``folder``'s file system has less than ``needed`` bytes free.
    """
    if needed is None:
        return
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # the output checks report an unusable folder
    if free < needed:
        raise OutputError(
            f"not enough free space: the work folder and output need about "
            f"{needed / 1e9:.2f} GB, {free / 1e9:.2f} GB is free; free some space or write "
            f"the output to another disk", path=folder)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write the work folder ({exc.strerror})", path=path) from exc


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- cancellation


class CancelToken:
    """A thread-safe stop request: signal handlers and callbacks set it, the run checks it.

    Attributes:
        signum: the signal that asked to stop (``signal.SIGINT``/``SIGTERM``), if any.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None
        self.reason = "cancelled"

    def cancel(self, reason: str = "cancelled", signum: int | None = None) -> None:
        """Ask the run to stop at the next frame."""
        self.reason = reason
        self.signum = signum
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`~vidcolor.errors.Cancelled` if a stop was requested."""
        if self._event.is_set():
            raise Cancelled(self.reason)


# --------------------------------------------------------------------------- colorizer seam


class ChromaModel:
    """What the pipeline needs from a loaded network (``models.inference.HintColorizer``).

    Anything with a ``predict_ab(lightness, hint_ab, hint_mask)`` method works; this class
    documents the contract and adapts the model's device for the compose step.
    """

    def __init__(self, model: Any):
        self.model = model

    @property
    def device(self) -> str:
        """``"cuda"`` or ``"cpu"``: where the model runs."""
        return str(getattr(self.model, "device", "cpu"))

    @property
    def backend(self) -> str:
        """Guided-filter backend for compose: kornia on the model's GPU, else OpenCV."""
        return self.device if self.device.startswith("cuda") else "opencv"

    def predict(self, lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray,
                batch_size: int) -> np.ndarray:
        """Chroma for a stack of frames, run in batches of ``batch_size``.

        Args:
            lightness: ``(N, h, w)`` float32 L in [0, 100].
            hint_ab: ``(N, h, w, 2)`` float32 hint chroma.
            hint_mask: ``(N, h, w)`` float32, 1 where a hint is.
            batch_size: frames per call of the network.

        Returns:
            ``(N, h, w, 2)`` float32 ab.
        """
        out = []
        for start in range(0, len(lightness), batch_size):
            stop = start + batch_size
            ab = self.model.predict_ab(lightness[start:stop], hint_ab[start:stop],
                                       hint_mask[start:stop])
            out.append(_as_numpy(ab))
        return np.concatenate(out, axis=0)


def _as_numpy(array: Any) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array.astype(np.float32, copy=False)
    return array.detach().float().cpu().numpy()


def load_model(options: ModelOptions) -> ChromaModel:
    """Load the hint network named by ``options`` (weights, device, precision).

    Args:
        options: model options.

    Returns:
        A :class:`ChromaModel`.
    """
    from vidcolor.models.inference import HintColorizer

    return ChromaModel(HintColorizer.from_options(options))


# --------------------------------------------------------------------------- hints seam


@dataclass
class ShotHints:
    """Every hint source that guides one shot.

    Attributes:
        frames: ``{frame index: FrameHints}`` of the hint frames inside the shot.
        borrowed: ``{frame index: FrameHints}`` of hints moved in from another shot or
            from a reference image (tracked through the shot like hint frames).
        palette: global colors (``hints.match.Palette``) to pull the prediction towards,
            for a shot that only matched another shot's look, or None.
        record: the ``hints.match.BorrowRecord`` of the borrowing decision, or None.
    """

    frames: dict[int, Any] = field(default_factory=dict)
    borrowed: dict[int, Any] = field(default_factory=dict)
    palette: Any = None
    record: Any = None


def hint_frames_of(hints: Any) -> dict[int, Any]:
    """``{frame index: FrameHints}`` of a loaded hint set (or an empty dict).

    Args:
        hints: a ``hints.format.HintSet``, a ``{index: FrameHints}`` dict, or None.

    Returns:
        A dict keyed by 0-based frame index.
    """
    if hints is None:
        return {}
    if isinstance(hints, dict):
        return {int(k): v for k, v in hints.items()}
    frames = getattr(hints, "frames", None)
    if isinstance(frames, dict):
        return {int(k): v for k, v in frames.items()}
    raise InputError(f"hints: found {type(hints).__name__}, expected a HintSet or a dict")


def hints_in_stored_orientation(hint_frames: dict[int, Any], rotation: float) -> dict[int, Any]:
    """Hints written on the displayed picture, mapped onto the stored one.

    Args:
        hint_frames: ``{frame index: FrameHints}`` in displayed orientation.
        rotation: the video's display rotation (``probe(...).rotation``), degrees
            counter-clockwise.
    """
    from vidcolor.frames import quarter_turns
    from vidcolor.hints.orientation import to_stored_orientation

    turns = quarter_turns(rotation)
    return {i: to_stored_orientation(fh, turns) for i, fh in hint_frames.items()}


# --------------------------------------------------------------------------- per shot


class ShotFlows:
    """Forward and backward flow of every consecutive pair of one shot, spilled to files.

    Record ``k`` holds the pair ``(start + k, start + k + 1)``: ``fwd`` moves frame
    ``start + k`` to the next, ``bwd`` says where a pixel of the next frame was before.
    """

    def __init__(self, folder: Path, shot: Shot, shape: tuple[int, int]):
        h, w = shape
        self.shot = shot
        self.fwd = RecordFile(folder / f"flow_fwd_{shot.index:05d}.f32", (h, w, 2), np.float32)
        self.bwd = RecordFile(folder / f"flow_bwd_{shot.index:05d}.f32", (h, w, 2), np.float32)

    def pair(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(fwd, bwd)`` of pair ``k``."""
        return self.fwd.read(k), self.bwd.read(k)

    def delete(self) -> None:
        """Close and remove the files."""
        for rec in (self.fwd, self.bwd):
            rec.close()
            with contextlib.suppress(OSError):
                rec.path.unlink()


def compute_shot_flows(luma: RecordFile, shot: Shot, folder: Path,
                       cancel: CancelToken | None = None) -> ShotFlows:
    """Optical flow (``temporal.flow``) of every consecutive pair of a shot, into files.

    Args:
        luma: the working-resolution luma records of the clip.
        shot: the shot.
        folder: the work folder.
        cancel: checked between pairs.

    Returns:
        The spilled :class:`ShotFlows`.
    """
    from vidcolor.temporal.flow import FlowEstimator

    flows = ShotFlows(folder, shot, luma.shape)
    estimator = FlowEstimator()
    prev = luma.read(shot.start)
    for k, index in enumerate(range(shot.start + 1, shot.stop)):
        if cancel is not None:
            cancel.check()
        cur = luma.read(index)
        fwd, bwd = estimator.pair(prev, cur)
        flows.fwd.write(k, fwd)
        flows.bwd.write(k, bwd)
        prev = cur
    return flows


def plan_shot_hints(shots: Sequence[Shot], hint_frames: dict[int, Any],
                    luma: Callable[[int], np.ndarray]) -> dict[int, ShotHints]:
    """Give every shot its hints: its own hint frames, or hints borrowed from a similar shot.

    Uses ``hints.match``: each shot is described by one frame (its first hint frame, else
    its middle frame); a shot without hints borrows points (SIFT + RANSAC) or a palette
    from the most similar hinted shot. A hint frame's ``reference`` image adds points where
    its features match the frame, else its palette when the shot has no point hints.
    Deterministic, so a resumed run plans the same way.

    Args:
        shots: the clip's shots.
        hint_frames: ``{frame index: FrameHints}``.
        luma: ``luma(i)`` -> working-resolution luma of frame ``i``.

    Returns:
        ``{shot index: ShotHints}``.
    """
    plan: dict[int, ShotHints] = {}
    hinted: list[Any] = []
    for s in shots:
        plan[s.index] = own_shot_hints(s, hint_frames, luma, hinted)
    for s in shots:
        borrow_shot_hints(s, plan[s.index], luma, hinted)
    return plan


def own_shot_hints(shot: Shot, hint_frames: dict[int, Any], luma: Callable[[int], np.ndarray],
                   hinted: list[Any]) -> ShotHints:
    """A shot's own hint frames, with its reference images' guidance.

    Args:
        shot: the shot.
        hint_frames: ``{frame index: FrameHints}`` of the clip (others are ignored).
        luma: ``luma(i)`` -> working-resolution luma of frame ``i`` of this shot.
        hinted: the hinted shots so far; a hinted shot is appended (``match.HintedShot``).
    """
    from vidcolor.hints import match

    own = {i: fh for i, fh in sorted(hint_frames.items()) if shot.start <= i < shot.stop}
    planned = ShotHints(frames=own)
    for i, fh in own.items():
        if getattr(fh, "reference_rgb", None) is None:
            continue
        target = match.describe_frame(luma(i), frame=i)
        guided = match.reference_guidance(shot.index, target, fh.reference_rgb,
                                          source_shot=shot.index)
        if guided.hints is not None:
            planned.borrowed[i] = guided.hints
        elif not any(f.points or f.scribble is not None for f in own.values()):
            planned.palette = guided.palette
        planned.record = guided.record
    if own:
        first = next(iter(own))
        hinted.append(match.HintedShot(shot.index, match.describe_frame(luma(first),
                                                                        frame=first),
                                       own[first]))
    return planned


def borrow_shot_hints(shot: Shot, planned: ShotHints, luma: Callable[[int], np.ndarray],
                      hinted: Sequence[Any]) -> None:
    """Let a shot without hint frames borrow from the most similar hinted shot (in place).

    Args:
        shot: the shot.
        planned: its :func:`own_shot_hints`; left alone when it has hint frames.
        luma: ``luma(i)`` -> working-resolution luma of frame ``i`` of this shot.
        hinted: the hinted shots to borrow from.
    """
    from vidcolor.hints import match

    if planned.frames or not hinted:
        return
    middle = shot.start + (len(shot) - 1) // 2
    borrowed = match.borrow_hints(shot.index, match.describe_frame(luma(middle), frame=middle),
                                  list(hinted))
    planned.record = borrowed.record
    if borrowed.hints is not None:
        planned.borrowed[middle] = borrowed.hints
    planned.palette = borrowed.palette
    log.info("%s", borrowed.record.describe())


class _Records(Sequence):
    """A read-only, lazy sequence view of ``count`` items computed by ``get(i)``."""

    def __init__(self, get: Callable[[int], Any], count: int):
        self._get, self._count = get, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(self._count))]
        if not -self._count <= i < self._count:
            raise IndexError(i)
        return self._get(i % self._count)


def shot_flow_views(shot: Shot, flows: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> Any:
    """The shot's flows as ``hints.track.ShotFlows`` of lazy sequences (read on demand).

    Args:
        shot: the shot.
        flows: ``flows(k)`` -> ``(fwd, bwd)`` of pair ``(shot.start + k, shot.start + k + 1)``.

    Returns:
        A ``hints.track.ShotFlows`` whose items are read from the work folder when used.
    """
    from vidcolor.hints.track import ShotFlows as TrackFlows
    from vidcolor.temporal.flow import forward_backward_mask

    n = max(0, len(shot) - 1)

    def fwd_ok(k: int) -> np.ndarray:
        fwd, bwd = flows(k)
        return forward_backward_mask(fwd, bwd)

    def bwd_ok(k: int) -> np.ndarray:
        fwd, bwd = flows(k)
        return forward_backward_mask(bwd, fwd)

    return TrackFlows(
        forward=_Records(lambda k: flows(k)[0], n),
        backward=_Records(lambda k: flows(k)[1], n),
        forward_ok=_Records(fwd_ok, n),
        backward_ok=_Records(bwd_ok, n),
    )


def track_shot_hints(shot: Shot, flows: Callable[[int], tuple[np.ndarray, np.ndarray]],
                     hints: ShotHints, shape: tuple[int, int],
                     luma: Callable[[int], np.ndarray] | None = None) -> dict[int, Any]:
    """Per-frame hints of a shot: its hint frames carried along the flows (``hints.track``).

    Args:
        shot: the shot.
        flows: ``flows(k)`` -> ``(fwd, bwd)`` of pair ``(shot.start + k, shot.start + k + 1)``.
        hints: the shot's own and borrowed hint frames.
        shape: working resolution ``(h, w)``.
        luma: ``luma(i)`` -> working-resolution luma of frame ``i`` (the frames the flows
            were computed on); tracking looks at it to decide doubtful points.

    Returns:
        ``{frame index: FrameHints}`` for every frame of the shot that a hint reaches.
    """
    # Reference points sit in 'borrowed' at the hint frame's own index: combine, never replace.
    sources = dict(hints.borrowed)
    for index, frame_hints in hints.frames.items():
        sources[index] = frame_hints.combined(sources[index]) if index in sources else frame_hints
    if not sources:
        return {}
    from vidcolor.hints.track import track_hints

    h, w = shape
    frames = None if luma is None else _Records(lambda k: luma(shot.start + k), len(shot))
    tracked = track_hints(shot.start, shot.stop, sources, shot_flow_views(shot, flows), h, w,
                          luma=frames)
    return {shot.start + k: fh for k, fh in enumerate(tracked) if not fh.empty}


def rasterize(frame_hints: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Dense hint chroma and mask of one frame's hints (``hints.rasterize``).

    Args:
        frame_hints: a ``FrameHints``.
        shape: working resolution ``(h, w)``.

    Returns:
        ``(ab (h, w, 2) float32, mask (h, w) float32)``.
    """
    from vidcolor.hints.rasterize import rasterize_hints

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
        from vidcolor.temporal import smooth

        self._module = smooth
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
        import torch

        # smooth() moves luma and flows to the device of the chroma it is given.
        tensor = torch.from_numpy(np.ascontiguousarray(ab)).permute(0, 3, 1, 2).to(self.device)
        out, self.state = self._module.smooth(tensor, luma, (fwd, bwd), self.state,
                                              self.options)
        return out.permute(0, 2, 3, 1).cpu().numpy()

    def finish(self) -> np.ndarray | None:
        """The shot's frames still pending, ``(K, h, w, 2)`` float32, or None."""
        out, self.state = self._module.flush(self.state, self.options)
        return None if out is None else out.permute(0, 2, 3, 1).cpu().numpy()


# --------------------------------------------------------------------------- shot chroma


def _shot_ab_file_path(folder: Path, shot: Shot) -> Path:
    return folder / f"ab_{shot.index:05d}.i8"


def _shot_ab_file(folder: Path, shot: Shot, shape: tuple[int, int]) -> RecordFile:
    h, w = shape
    return RecordFile(_shot_ab_file_path(folder, shot), (h, w, 2), np.int8)


def chroma_record(ab: np.ndarray) -> np.ndarray:
    """Finished chroma as stored in the work folder: whole ab units in int8.

    Rounding moves a color by at most 0.5 ab units (a tenth of a just-noticeable
    difference) and takes 2 bytes a pixel instead of float16's 4: a feature film's work
    folder shrinks by 30 GB.

    Args:
        ab: ``(h, w, 2)`` float chroma, within [-110, 110] from the network.
    """
    return np.clip(np.rint(ab), -128, 127).astype(np.int8)


def _done_marker(folder: Path, shot: Shot) -> Path:
    return folder / f"ab_{shot.index:05d}.done"


def colorize_shot(
    shot: Shot,
    luma: Callable[[int], np.ndarray],
    flows: Callable[[int], tuple[np.ndarray, np.ndarray]],
    hints: ShotHints,
    model: ChromaModel,
    options: RunOptions,
    write: Callable[[int, np.ndarray], None],
    cancel: CancelToken | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Colorize one shot at working resolution: track, rasterize, infer, smooth.

    Pure in the sense that matters for ``--resume``: the result depends only on the shot's
    luma, its flows and its hints, never on other shots or on ``batch_size``.

    Args:
        shot: the shot.
        luma: ``luma(i)`` -> ``(h, w)`` uint8 working-resolution luma of frame ``i``.
        flows: ``flows(k)`` -> ``(fwd, bwd)`` ``(h, w, 2)`` float32 of the pair
            ``(shot.start + k, shot.start + k + 1)``.
        hints: the shot's hint frames and borrowed hints.
        model: the loaded network.
        options: run options (batch size, temporal smoothing).
        write: ``write(i, ab)`` stores the final ``(h, w, 2)`` float32 chroma of frame ``i``.
        cancel: checked between batches.
        progress: called with the number of frames of the shot finished so far.
    """
    from vidcolor.hints.match import apply_palette

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


# --------------------------------------------------------------------------- in memory


def _to_working(gray: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    from vidcolor.io.decode import resize_gray

    return resize_gray(gray, (shape[1], shape[0]))


def colorize_image_gray(gray: np.ndarray, hints: Any, model: ChromaModel,
                        working_size: int) -> np.ndarray:
    """Colorize one gray image with optional hints.

    Args:
        gray: ``(H, W)`` uint8 full-range gray.
        hints: a ``FrameHints`` (its coordinates are fractions of the image) or None.
        model: the loaded network.
        working_size: shorter side the network sees.

    Returns:
        ``(H, W, 3)`` uint8 sRGB whose lightness is ``gray``'s.
    """
    shape = working_shape(gray.shape[0], gray.shape[1], working_size)
    small = _to_working(gray, shape)
    hint_ab = np.zeros((1, *shape, 2), np.float32)
    hint_mask = np.zeros((1, *shape), np.float32)
    if hints is not None:
        hint_ab[0], hint_mask[0] = rasterize(hints, shape)
    ab = model.predict(gray_to_lightness(small)[None], hint_ab, hint_mask, 1)[0]
    return colorize_gray(gray, ab, backend=model.backend)


def suggest_colors_gray(gray: np.ndarray, x: float, y: float, hints: Any, model: ChromaModel,
                        k: int = 5) -> list[Any]:
    """The k most likely colors at a point of a gray image, given its hints.

    Args:
        gray: ``(H, W)`` uint8 full-range gray.
        x: horizontal position as a fraction of the width, in [0, 1].
        y: vertical position as a fraction of the height, in [0, 1].
        hints: a ``FrameHints`` (coordinates are fractions of the image) or None.
        model: the loaded network (its class head gives the palette).
        k: how many colors.

    Returns:
        ``models.palette.PaletteColor`` records ``(ab, rgb_hex, probability)``, most likely
        first.
    """
    from vidcolor.hints.rasterize import rasterize_hints
    from vidcolor.models.palette import suggest_colors

    arrays = None if hints is None else rasterize_hints(hints, *gray.shape)
    return suggest_colors(model.model, gray, x, y, arrays, k)


def _flows_in_memory(grays: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    from vidcolor.temporal.flow import FlowEstimator

    estimator = FlowEstimator()
    return [estimator.pair(a, b) for a, b in zip(grays[:-1], grays[1:], strict=True)]


def colorize_gray_stream(grays: Iterable[np.ndarray], hint_frames: dict[int, Any],
                         model: ChromaModel, options: RunOptions,
                         cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
    """Colorize a stream of gray frames shot by shot, yielding sRGB frames in order.

    Frames are buffered until a cut (``temporal.shots.CutDetector``) or the end, then the
    shot goes through the same per-shot step as a video run (:func:`colorize_shot`), in
    memory. Memory holds one shot. Hints of frames inside a shot are tracked through it,
    reference images guide their shot, and a shot without hints borrows from the most
    similar hinted shot seen so far (a video run, which sees the whole clip first, also
    borrows from later shots).

    Args:
        grays: ``(H, W)`` uint8 full-range frames, all the same size.
        hint_frames: ``{frame index: FrameHints}``.
        model: the loaded network.
        options: run options (model and temporal parts are used).
        cancel: checked between shots.

    Yields:
        ``(H, W, 3)`` uint8 sRGB frames.
    """
    from vidcolor.temporal.shots import CutDetector

    detector = CutDetector()
    shot_frames: list[np.ndarray] = []
    shot_small: list[np.ndarray] = []
    start = 0
    shape: tuple[int, int] | None = None
    full_shape: tuple[int, ...] | None = None
    shot_index = 0
    hinted: list[Any] = []  # hinted shots so far (hints.match.HintedShot), to borrow from

    def finish() -> Iterator[np.ndarray]:
        nonlocal shot_index
        if not shot_frames:
            return
        shot = Shot(start, start + len(shot_frames), index=shot_index)
        flows = _flows_in_memory(shot_small)

        def luma(i: int) -> np.ndarray:
            return shot_small[i - shot.start]

        hints = own_shot_hints(shot, hint_frames, luma, hinted)
        borrow_shot_hints(shot, hints, luma, hinted)
        out: dict[int, np.ndarray] = {}
        colorize_shot(shot, luma, flows.__getitem__, hints,
                      model, options, out.__setitem__, cancel)
        for i, gray in enumerate(shot_frames):
            yield colorize_gray(gray, out.pop(shot.start + i), backend=model.backend)
        shot_index += 1

    for index, gray in enumerate(grays):
        if cancel is not None:
            cancel.check()
        if full_shape is None:
            full_shape = gray.shape
            shape = working_shape(gray.shape[0], gray.shape[1], options.model.working_size)
        elif gray.shape != full_shape:
            raise InputError(f"frame {index} is {gray.shape}; expected {full_shape} like "
                             "frame 0", field="frames")
        small = _to_working(gray, shape)
        if detector.push(small) and shot_frames:
            yield from finish()
            shot_frames, shot_small, start = [], [], index
        shot_frames.append(gray)
        shot_small.append(small)
    yield from finish()


# --------------------------------------------------------------------------- shots, templates


def find_shots(src: str | Path, working_size: int = 256) -> dict[str, Any]:
    """The analysis pass alone: cut detection over a whole file (``vidcolor shots``).

    Args:
        src: the video.
        working_size: shorter side at which luma is compared.

    Returns:
        ``{"input", "frames", "cuts", "shots": [{"shot", "start", "stop", "seconds",
        "timecode"}]}``; ``start``/``stop`` are frame indices (stop exclusive), ``seconds``
        and ``timecode`` (``HH:MM:SS.mmm``) the presentation time of the first frame.
    """
    from vidcolor.io.decode import iter_luma
    from vidcolor.io.probe import probe
    from vidcolor.temporal.shots import CutDetector, format_timecode

    info = probe(src)
    h, w = working_shape(info.height, info.width, working_size)
    detector = CutDetector()
    starts: dict[int, float] = {}
    frames = 0
    for frame_time, gray in iter_luma(src, (w, h)):
        if detector.update(gray) or frame_time.index == 0:
            starts[frame_time.index] = frame_time.seconds
        frames = frame_time.index + 1
    shots = shots_from_cuts(detector.cuts, frames)
    return {
        "input": str(src),
        "frames": frames,
        "cuts": [s.start for s in shots[1:]],
        "shots": [{"shot": s.index, "start": s.start, "stop": s.stop,
                   "seconds": starts.get(s.start, 0.0),
                   "timecode": format_timecode(starts.get(s.start, 0.0))} for s in shots],
    }


def export_hint_templates(src: str | Path, directory: str | Path,
                          frames: Sequence[int] | None = None, *,
                          overwrite: bool = False) -> list[Path]:
    """Write frames to paint on and empty hint files (``vidcolor hints template``).

    Args:
        src: the video.
        directory: the hints directory (created if missing).
        frames: frame indices to export; None for the first frame of every shot.
        overwrite: replace existing template files.

    Returns:
        The files written (``hints.template.write_template``).

    Raises:
        InputError: a requested frame is past the end of the video.
    """
    from vidcolor.frames import displayed_image, quarter_turns
    from vidcolor.hints.template import write_template
    from vidcolor.io.decode import iter_video_frames
    from vidcolor.io.probe import probe

    # People paint on the picture as players show it; hints map back at run time.
    turns = quarter_turns(probe(src).rotation)
    if frames is None:
        found = find_shots(src)
        frames = [sh["start"] for sh in found["shots"]]
    wanted = sorted(set(frames))
    picked: list[tuple[int, np.ndarray]] = []
    count = 0
    for frame_time, plane in iter_video_frames(src):
        count = frame_time.index + 1
        if frame_time.index in wanted:
            picked.append((frame_time.index, displayed_image(plane.gray, turns)))
        if wanted and frame_time.index >= wanted[-1]:
            break
    missing = [f for f in wanted if f not in {i for i, _ in picked}]
    if missing:
        raise InputError(f"frame {missing[0]} is past the end of the video ({count} frames); "
                         f"expected 0..{count - 1}", path=src, field="--frames")
    return write_template(directory, picked, overwrite=overwrite)


# --------------------------------------------------------------------------- the video run


def _file_digest(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _hints_digest(hint_frames: dict[int, Any]) -> str:
    sha = hashlib.sha256()
    for index in sorted(hint_frames):
        fh = hint_frames[index]
        sha.update(repr((index, getattr(fh, "points", None), getattr(fh, "reference", None)))
                   .encode())
        for name in ("scribble", "reference_rgb"):
            arr = getattr(fh, name, None)
            if arr is not None:
                sha.update(np.ascontiguousarray(arr).tobytes())
    return sha.hexdigest()


def check_paths(src: str | Path, dst: str | Path, *, overwrite: bool) -> tuple[Path, Path]:
    """Refuse to run when the output is the input, or exists without ``overwrite``.

    Args:
        src: the input video.
        dst: the output video.
        overwrite: allow replacing an existing ``dst`` (never the input).

    Returns:
        ``(src, dst)`` as Paths.

    Raises:
        InputError: ``dst`` is ``src``, exists without ``overwrite``, or its folder is missing.
    """
    src, dst = Path(src), Path(dst)
    if dst.exists() and src.exists() and os.path.samefile(src, dst) or (
            dst.resolve() == src.resolve()):
        raise InputError("the output is the input file; expected a different output path "
                         "(vidcolor never writes over its input)", path=dst)
    if dst.exists() and not overwrite:
        raise InputError("the output file exists; expected a new path, or --overwrite",
                         path=dst)
    if dst.is_dir():
        raise InputError("the output is a directory; expected a file path", path=dst)
    if not dst.parent.is_dir():
        raise InputError("the output's folder does not exist", path=dst.parent)
    return src, dst


class _Run:
    """One video run; :func:`run_video` is its public face."""

    def __init__(self, src: Path, dst: Path, hints: Any, options: RunOptions,
                 model: ChromaModel | None, on_frame: OnFrame | None, progress: Any,
                 cancel: CancelToken):
        from vidcolor.progress import Progress

        self.src, self.dst = src, dst
        self.hint_frames = hint_frames_of(hints)
        self.hint_set = hints
        self.options = options
        self._model = model
        self.on_frame = on_frame
        self.progress = progress if progress is not None else Progress()
        self.cancel = cancel
        self.work = work_dir_for(dst)
        self.resumed_shots = 0
        self.decode_errors = 0
        self.borrowed: dict[int, int] = {}

    @property
    def model(self) -> ChromaModel:
        if self._model is None:
            self._model = load_model(self.options.model)
        return self._model

    # ---- work folder
    def _fingerprint(self, info: Any) -> dict[str, Any]:
        opts = self.options
        return {
            "format": WORK_FORMAT,
            "input": _file_digest(self.src),
            "hints": _hints_digest(self.hint_frames),
            "model": asdict(opts.model) | {"batch_size": None},
            "temporal": asdict(opts.temporal),
            "size": [info.width, info.height],
        }

    def _prepare_work(self, info: Any) -> bool:
        """Create or reuse the work folder; True when earlier work is reused."""
        from vidcolor.io.atomic import stale_temp_files

        for stale in stale_temp_files(self.dst):  # left by a killed run
            with contextlib.suppress(OSError):
                stale.unlink()
        fingerprint = self._fingerprint(info)
        manifest = self.work / "manifest.json"
        if self.work.exists():
            if self.options.resume and _read_json(manifest) == fingerprint:
                return True
            if self.options.resume:
                log.warning("%s: earlier work does not match this input, hints or options; "
                            "starting over", self.work)
            shutil.rmtree(self.work, ignore_errors=True)
        try:
            self.work.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot create the work folder ({exc.strerror})",
                              path=self.work) from exc
        _write_json(manifest, fingerprint)
        return False

    # ---- pass 1
    def analyze(self, info: Any, shape: tuple[int, int]) -> tuple[int, list[Shot]]:
        """Spill working-res luma, find cuts. Returns (frame count, shots)."""
        done = self.work / "analysis.json"
        state = _read_json(done) if self.options.resume else None
        if state is not None:
            self.decode_errors = state["filled"]
            return state["frames"], shots_from_cuts(state["cuts"], state["frames"])
        from vidcolor.io.decode import DecodeReport, iter_luma
        from vidcolor.temporal.shots import CutDetector

        h, w = shape
        detector = CutDetector()
        frames = 0
        expected = info.frame_count
        with RecordFile(self.work / "luma.u8", (h, w), np.uint8) as luma:
            report = DecodeReport()
            source = iter_luma(self.src, (w, h), strict=self.options.strict, report=report,
                               prefetch=QUEUE_DEPTH)
            try:
                for frame_time, gray in source:
                    self.cancel.check()
                    luma.write(frame_time.index, gray)
                    detector.push(gray)
                    frames = frame_time.index + 1
                    self.progress.update("analyze", frames, expected)
            finally:
                source.close()
            luma.flush()
        cuts = sorted(detector.cuts)
        for message in report.messages:
            log.warning("%s: %s", self.src, message)
        self.decode_errors = len(report.filled)
        if frames == 0:
            raise DecodeError("no video frame could be decoded", path=self.src)
        self.progress.update("analyze", frames, frames, force=True)
        _write_json(done, {"frames": frames, "cuts": cuts, "filled": self.decode_errors})
        return frames, shots_from_cuts(cuts, frames)

    # ---- pass 2
    def colorize(self, shots: list[Shot], shape: tuple[int, int], frames: int) -> None:
        luma = RecordFile(self.work / "luma.u8", shape, np.uint8)
        todo = [s for s in shots if not _done_marker(self.work, s).exists()]
        self.resumed_shots = len(shots) - len(todo)
        finished = sum(len(s) for s in shots if s not in todo)
        plan = plan_shot_hints(shots, self.hint_frames, luma.read)
        for shot, sh in plan.items():
            record = sh.record
            if record is not None and record.source_shot is not None \
                    and record.source_shot != shot and record.method != "none":
                self.borrowed[shot] = record.source_shot
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidcolor-flow")
        pending: dict[int, Future] = {}

        def submit(k: int) -> None:
            if k < len(todo) and k not in pending:
                pending[k] = pool.submit(compute_shot_flows, luma, todo[k], self.work,
                                         self.cancel)

        try:
            for k, shot in enumerate(todo):
                submit(k)
                submit(k + 1)  # one shot ahead, while this one is inferred
                flows = pending.pop(k).result()
                try:
                    with _shot_ab_file(self.work, shot, shape) as out:
                        base = finished

                        def tick(n: int, base: int = base) -> None:
                            self.progress.update("colorize", base + n, frames)

                        colorize_shot(shot, luma.read, flows.pair, plan[shot.index], self.model,
                                      self.options,
                                      lambda i, ab, s=shot, o=out:
                                      o.write(i - s.start, chroma_record(ab)),
                                      self.cancel, tick)
                        out.flush()
                finally:
                    flows.delete()
                _write_json(_done_marker(self.work, shot), {"frames": len(shot)})
                finished += len(shot)
        finally:
            self.cancel_flows(pending)
            pool.shutdown(wait=True)
            luma.close()
        self.progress.update("colorize", frames, frames, force=True)

    def cancel_flows(self, pending: dict[int, Future]) -> None:
        for fut in pending.values():
            fut.cancel()
        for fut in pending.values():
            with contextlib.suppress(BaseException):
                fut.result().delete()

    # ---- pass 3
    def encode(self, info: Any, shots: list[Shot], shape: tuple[int, int], frames: int) -> int:
        from vidcolor.io.decode import DecodeReport, iter_video_frames
        from vidcolor.io.encode import VideoWriter
        from vidcolor.io.threads import BoundedSink

        store: RecordFile | None = None  # the current shot's chroma (one file open at a time)
        starts = [s.start for s in shots]
        backend = self.model.backend
        written = 0
        report = DecodeReport()
        source = iter_video_frames(self.src, strict=self.options.strict, report=report,
                                   prefetch=QUEUE_DEPTH)
        try:
            with VideoWriter(self.dst, info, self.options.encode) as writer:
                chroma_size = (info.width, info.height) if writer.pix_fmt == "yuv444p" else (
                    (info.width + 1) // 2, (info.height + 1) // 2)
                with BoundedSink(lambda item: writer.write(*item), QUEUE_DEPTH,
                                 name="vidcolor-encode") as sink:
                    for frame_time, plane in source:
                        self.cancel.check()
                        index = frame_time.index
                        if index >= frames:
                            raise DecodeError(f"the second decode found frame {index}; the "
                                              f"first found {frames} frames", path=self.src)
                        shot = shots[int(np.searchsorted(starts, index, side="right")) - 1]
                        if store is None or store.path != _shot_ab_file_path(self.work, shot):
                            if store is not None:
                                store.close()
                            store = _shot_ab_file(self.work, shot, shape)
                        ab = store.read(index - shot.start).astype(np.float32)
                        gray = plane.gray
                        u, v = compose_chroma(gray, ab, chroma_size, matrix=writer.matrix,
                                              full_range=writer.full_range, backend=backend)
                        sink.put((frame_time, plane.y, u, v))
                        written += 1
                        if self.on_frame is not None:
                            self._call_on_frame(frame_time, gray, ab, backend, info.rotation)
                        self.progress.update("encode", written, frames)
        finally:
            source.close()
            if store is not None:
                store.close()
        if written != frames:
            raise DecodeError(f"the second decode found {written} frames, the first {frames}",
                              path=self.src)
        self.progress.update("encode", written, frames, force=True)
        return written

    def _call_on_frame(self, frame_time: FrameTime, gray: np.ndarray, ab: np.ndarray,
                       backend: str, rotation: int) -> None:
        color = colorize_gray(gray, ab, backend=backend)
        gray = gray.copy()
        gray.flags.writeable = False
        color.flags.writeable = False
        if self.on_frame(ColoredFrame(frame_time, gray, color, rotation)) is False:
            raise Cancelled("cancelled by the on_frame callback")

    # ---- all
    def run(self) -> RunReport:
        from vidcolor.io.probe import probe

        t0 = time.monotonic()
        info = probe(self.src)
        if info.frame_count is not None and hasattr(self.hint_set, "check_frame_count"):
            self.hint_set.check_frame_count(info.frame_count)
        shape = working_shape(info.height, info.width, self.options.model.working_size)
        self.hint_frames = hints_in_stored_orientation(self.hint_frames, info.rotation)
        if not (self.options.resume and self.work.exists()):  # resumed work already holds it
            check_free_space(self.dst.parent, work_bytes_estimate(info, shape))
        self.progress.start(str(self.src), str(self.dst), info.frame_count, None)
        reused = self._prepare_work(info)
        if not reused:
            log.debug("work folder %s", self.work)
        try:
            _ = self.model  # load the weights before the long passes: fail early
            frames, shots = self.analyze(info, shape)
            if hasattr(self.hint_set, "check_frame_count"):
                self.hint_set.check_frame_count(frames)
            self.colorize(shots, shape, frames)
            written = self.encode(info, shots, shape, frames)
        except Cancelled:
            if self.cancel.signum is None:  # a callback said stop: nothing to resume
                shutil.rmtree(self.work, ignore_errors=True)
            raise  # a signal: keep the work, --resume continues from the last finished shot
        except KeyboardInterrupt:
            raise  # Ctrl-C in a Python session: keep the work for resume=True
        except BaseException:
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        shutil.rmtree(self.work, ignore_errors=True)
        seconds = time.monotonic() - t0
        self.progress.done(str(self.dst), written, seconds)
        return RunReport(
            input=str(self.src), output=str(self.dst), frames=written, seconds=seconds,
            fps=written / seconds if seconds > 0 else 0.0, shots=len(shots),
            cuts=tuple(s.start for s in shots[1:]), borrowed=dict(self.borrowed),
            decode_errors_filled=self.decode_errors, resumed_shots=self.resumed_shots,
        )


def run_video(
    src: str | Path,
    dst: str | Path,
    hints: Any = None,
    options: RunOptions | None = None,
    *,
    model: ChromaModel | None = None,
    on_frame: OnFrame | None = None,
    progress: Any = None,
    cancel: CancelToken | None = None,
) -> RunReport:
    """Colorize a video file into another, keeping its luma, timing, audio and metadata.

    Args:
        src: the input video.
        dst: the output video; its extension picks the container.
        hints: a ``HintSet`` (``hints.format.load_hints``), a ``{frame: FrameHints}`` dict,
            or None for automatic colorization.
        options: model, temporal and encode options, ``strict`` and ``resume``.
        model: an already loaded network; loaded from ``options.model`` when None.
        on_frame: called on the caller's thread, in frame order, with each finished
            :class:`~vidcolor.frames.ColoredFrame`; returning False (or raising) cancels.
        progress: a :class:`vidcolor.progress.Progress`; silent when None.
        cancel: a :class:`CancelToken` that signal handlers may set.

    Returns:
        The :class:`RunReport`.

    Raises:
        InputError: bad paths, input, hints or weights (exit code 2).
        OutputError: the output cannot be written (exit code 1).
        Cancelled: the run was stopped; no output file is left, and the work folder is
            kept so that ``resume=True`` continues from the last finished shot.
    """
    options = options if options is not None else RunOptions()
    src, dst = check_paths(src, dst, overwrite=options.encode.overwrite)
    run = _Run(src, dst, hints, options, model, on_frame, progress, cancel or CancelToken())
    return run.run()
