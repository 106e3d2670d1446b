"""A live preview of a film's colorization: the render's own steps, one frame at a time.

:class:`PreviewSession` opens a film once and answers a studio's questions ("what does
frame 120 look like with the hints in this folder now?") with the same steps a render
takes (``run.video``):

* **Analysis** in a background thread: one decode pass gives every frame's
  working-resolution luma (``io.decode.frame_gray``, as the render's analysis) and its
  full-size 8-bit gray (``VideoPlane.gray``, as the render's encode), both spilled to a
  private temporary folder, and the cuts (``temporal.shots.CutDetector``). A question about
  frame ``i`` waits only until the analysis has closed ``i``'s shot.
* **Plan** (``run.plan``): a shot with hint frames gets exactly its own hints
  (:func:`~vidcolor.run.plan.own_shot_hints`, which is what ``plan_shot_hints`` gives it); an
  unhinted shot waits for the whole analysis and gets ``plan_shot_hints``'s borrowing.
* **Flows** of a shot are computed lazily, pair by pair, with the render's estimator, and
  kept with their forward-backward masks for the last :data:`FLOW_SHOTS` shots.
* **Tracking** (``run.shot.track_shot_hints``) of frame ``t`` runs over the part of the
  shot between its hint frames and ``t`` only: the sweeps that reach ``t`` are the same
  steps as over the whole shot, so the carried hints are the same.
* **Network** on one frame at working resolution, the palette pull of a borrowed look,
  the render's int8 rounding of the chroma, then guided upsampling to the full frame
  (``run.compose.colorize_gray``, as the API's ``on_frame`` frames), turned to the
  displayed orientation.

Temporal smoothing needs every earlier frame of the shot, so a single-frame preview does
not include it; :meth:`PreviewSession.play_shot` runs the whole shot through
``run.shot.colorize_shot`` (smoothing included) and gives the render's chroma frame by
frame. ``docs/STUDIO.md`` says what this means for the user.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from vidcolor.color import gray_to_lightness
from vidcolor.errors import Cancelled, InputError, OutputError
from vidcolor.frames import displayed_image, quarter_turns, working_shape
from vidcolor.hints.format import FrameHints, load_hints
from vidcolor.hints.match import apply_palette
from vidcolor.hints.orientation import stored_point, to_stored_orientation
from vidcolor.io.probe import probe
from vidcolor.models.palette import PaletteColor
from vidcolor.options import RunOptions
from vidcolor.progress import Progress
from vidcolor.run.cancel import CancelToken
from vidcolor.run.compose import colorize_gray
from vidcolor.run.film_frames import BoundedDict, FilmFrames, LockedModel, ShotFlowCache
from vidcolor.run.hintedit import HintFolder
from vidcolor.run.model import ChromaModel
from vidcolor.run.plan import (
    HintFrames,
    ShotHints,
    hint_frames_of,
    hints_in_stored_orientation,
    own_shot_hints,
    plan_shot_hints,
)
from vidcolor.run.shot import colorize_shot, hint_sources, rasterize, track_shot_hints
from vidcolor.run.stream import suggest_colors_gray
from vidcolor.run.video import RunReport, run_video
from vidcolor.run.workdir import check_free_space, chroma_record
from vidcolor.temporal.flow import FlowEstimator
from vidcolor.temporal.shots import Shot

#: Shots whose flows and masks stay in memory (the one being edited and the one before).
FLOW_SHOTS = 2
#: Frames whose finished working-resolution chroma is kept, per hint state.
CHROMA_CACHE = 64
#: Frames whose smoothed tracking copies of the luma are kept (``hints.track`` views).
VIEW_CACHE = 120
#: Shorter side, in pixels, of the frames of a shot playback (never enlarged).
PLAYBACK_SIZE = 360


class PreviewSession:
    """A film opened for live preview with the hints of one folder.

    Every question reads the hints folder as it is now (a change made by the CLI, the
    Blender add-on or an editor is seen at the next question), so the session never holds
    hints of its own.

    Args:
        src: the film.
        hints_dir: its hints folder (created if missing).
        options: the run options a render would use (model, temporal, fps, strict).
        model: the loaded network.
        temp_dir: where the analysis spills luma and gray; default the system's temp.

    Attributes:
        hints: the folder's :class:`~vidcolor.run.hintedit.HintFolder` (edits, undo).
        info: the film's probe.
        shape: working resolution ``(h, w)``.
        turns: counter-clockwise quarter turns from stored to displayed.
    """

    def __init__(self, src: str | Path, hints_dir: str | Path, options: RunOptions,
                 model: ChromaModel, *, temp_dir: str | Path | None = None):
        self.src = Path(src)
        self.hints_dir = Path(hints_dir)
        try:
            self.hints_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the hints folder ({exc.strerror or exc}); "
                              "expected a folder the studio can write (--hints DIR)",
                              path=self.hints_dir) from None
        if not os.access(self.hints_dir, os.W_OK):
            raise OutputError("the hints folder is not writable; expected a folder the studio "
                              "can write (--hints DIR)", path=self.hints_dir)
        self.options = options
        self.info = probe(self.src, options.fps)
        self.shape = working_shape(self.info.height, self.info.width,
                                   options.model.working_size)
        self.turns = quarter_turns(self.info.rotation)
        self._lock = threading.Lock()  # hint state, plans, caches
        self._model_lock = threading.Lock()
        self.model = LockedModel(model, self._model_lock)
        self._flow_lock = threading.Lock()
        self._estimator = FlowEstimator()
        self._temp = tempfile.TemporaryDirectory(prefix="vidcolor-preview-", dir=temp_dir)
        frames = self.info.frame_count
        if frames is None and self.info.duration and self.info.average_rate:
            frames = int(self.info.duration * float(self.info.average_rate)) + 1
        per_frame = self.shape[0] * self.shape[1] + self.info.height * self.info.width
        try:
            check_free_space(Path(self._temp.name), None if frames is None else frames * per_frame,
                             what="the preview's luma and gray of every frame",
                             remedy="set TMPDIR to a larger disk")
        except BaseException:
            self._temp.cleanup()
            raise
        self._analysis = FilmFrames(self.src, self.info, self.shape, options,
                                   Path(self._temp.name))
        self._flows: OrderedDict[int, ShotFlowCache] = OrderedDict()
        self._signature: tuple | None = None
        self._hint_frames: HintFrames = {}
        self._plans: dict[int, ShotHints] = {}
        self._tracked: dict[int, FrameHints | None] = {}
        self._chroma: OrderedDict[int, np.ndarray] = OrderedDict()
        self._views = BoundedDict(VIEW_CACHE)  # luma never changes: valid for the session
        self._guidance = BoundedDict(16)  # reference guidance by (shot, frame, image)
        self.hints = HintFolder(self.hints_dir, self.frame_count)

    # ------------------------------------------------------------------ the film

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` of a frame as players show it."""
        w, h = self.info.width, self.info.height
        return (h, w) if self.turns % 2 else (w, h)

    def frame_count(self, wait: bool = False) -> int | None:
        """The film's frame count: exact once analysed (or with ``wait``), else the probe's."""
        if wait:
            self._analysis.wait(lambda: False)
            self._analysis.raise_error()
        if self._analysis.done and self._analysis.error is None:
            return self._analysis.frames
        return self.info.frame_count

    @property
    def analysed(self) -> bool:
        """True once the whole film has been analysed."""
        return self._analysis.done

    def check_frame(self, index: int) -> None:
        """Wait until frame ``index`` is decoded.

        Raises:
            InputError: ``index`` is not a frame of the film.
        """
        self._analysis.check_frame(index)

    def shot_at(self, index: int) -> Shot:
        """The shot holding frame ``index`` (waits for the analysis to close it)."""
        return self._analysis.shot_at(index)

    def shots(self) -> list[Shot]:
        """Every shot (waits for the whole analysis)."""
        return self._analysis.all_shots()

    def luma(self, index: int) -> np.ndarray:
        """``(h, w)`` uint8 working-resolution luma of a frame (stored orientation)."""
        self._analysis.wait(lambda: self._analysis.frames > index)
        return self._analysis.luma.read(index)

    def gray(self, index: int) -> np.ndarray:
        """``(H, W)`` uint8 full-size gray of a frame (stored orientation)."""
        self._analysis.check_frame(index)
        return self._analysis.gray.read(index)

    def gray_frame(self, index: int) -> np.ndarray:
        """``(H, W)`` uint8 gray of a frame as players show it."""
        return np.ascontiguousarray(displayed_image(self.gray(index), self.turns))

    # ------------------------------------------------------------------ hints

    def _folder_signature(self) -> tuple:
        entries = []
        try:
            for entry in os.scandir(self.hints_dir):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                entries.append((entry.name, st.st_mtime_ns, st.st_size))
        except OSError as exc:
            raise InputError(f"cannot read the hints folder: {exc.strerror or exc}",
                             path=self.hints_dir) from None
        return tuple(sorted(entries))

    def hint_frames(self) -> HintFrames:
        """The folder's hint frames in stored orientation, reloaded when a file changed.

        Raises:
            HintError: a file in the folder breaks the format (the CLI's message).
        """
        signature = self._folder_signature()
        with self._lock:
            if signature != self._signature:
                hints = load_hints(self.hints_dir)
                self._hint_frames = hints_in_stored_orientation(hint_frames_of(hints),
                                                                self.info.rotation)
                self._signature = signature
                self._plans.clear()
                self._tracked.clear()
                self._chroma.clear()
            return self._hint_frames

    def plan(self, shot: Shot) -> ShotHints:
        """The hints that guide ``shot``, as the render's ``plan_shot_hints`` gives them."""
        hint_frames = self.hint_frames()
        with self._lock:
            if shot.index in self._plans:
                return self._plans[shot.index]
        own = any(shot.start <= i < shot.stop for i in hint_frames)
        if own or not hint_frames:
            planned = own_shot_hints(shot, hint_frames, self.luma, None, self._guidance)
        else:  # borrowing looks at every hinted shot of the film
            planned = plan_shot_hints(self.shots(), hint_frames, self.luma)[shot.index]
        with self._lock:
            if self._hint_frames is hint_frames:
                self._plans[shot.index] = planned
        return planned

    def _shot_flows(self, shot: Shot) -> ShotFlowCache:
        with self._lock:
            flows = self._flows.get(shot.start)
            if flows is None or flows.shot != shot:
                flows = ShotFlowCache(shot, self.luma, self._flow_lock, self._estimator)
                self._flows[shot.start] = flows
                while len(self._flows) > FLOW_SHOTS:
                    self._flows.popitem(last=False)
            self._flows.move_to_end(shot.start)
            return flows

    def tracked_hints(self, index: int) -> FrameHints | None:
        """The hints a render paints on frame ``index`` (stored orientation), or None."""
        shot = self.shot_at(index)
        hint_frames = self.hint_frames()
        with self._lock:
            if index in self._tracked and self._hint_frames is hint_frames:
                return self._tracked[index]
        planned = self.plan(shot)
        sources = hint_sources(planned)
        found = None
        if sources:
            # The sweeps that reach `index` start at the hint frames: frames past them in
            # either direction are never read for it.
            start = min(min(sources), index)
            stop = max(max(sources), index) + 1
            part = Shot(start, stop, index=shot.index)
            flows = self._shot_flows(shot)
            offset = start - shot.start
            tracked = track_shot_hints(part, lambda k: flows.pair(offset + k), planned,
                                       self.shape, self.luma, views=flows.views(start, stop),
                                       view_cache=self._views)
            found = tracked.get(index)
        with self._lock:
            if self._hint_frames is hint_frames:
                self._tracked[index] = found
        return found

    def carried_points(self, index: int) -> list[dict[str, object]]:
        """The point hints a render paints on frame ``index``, on the displayed picture.

        Returns:
            ``[{"x", "y" (fractions), "ab": [a, b], "size" (or None), "weight"}]``: the
            frame's own points and those carried to it from the shot's hint frames
            (scribbles sampled as points, as tracking carries them).
        """
        found = self.tracked_hints(index)
        if found is None:
            return []
        shown = to_stored_orientation(replace(found, scribble=None), -self.turns)
        return [{"x": p.x, "y": p.y, "ab": [p.ab[0], p.ab[1]], "size": p.size,
                 "weight": p.weight} for p in shown.points]

    # ------------------------------------------------------------------ color

    def chroma(self, index: int) -> np.ndarray:
        """``(h, w, 2)`` float32 working-resolution chroma of a frame, in whole ab units.

        What a render without temporal smoothing stores for the frame.
        """
        hint_frames = self.hint_frames()
        with self._lock:
            if index in self._chroma and self._hint_frames is hint_frames:
                self._chroma.move_to_end(index)
                return self._chroma[index]
        if hint_frames:
            planned = self.plan(self.shot_at(index))
            frame_hints = self.tracked_hints(index)
        else:  # nothing guides any shot (nothing to borrow): the shot's end need not be known
            self.check_frame(index)
            planned, frame_hints = ShotHints(), None
        h, w = self.shape
        hint_ab = np.zeros((1, h, w, 2), np.float32)
        hint_mask = np.zeros((1, h, w), np.float32)
        if frame_hints is not None:
            hint_ab[0], hint_mask[0] = rasterize(frame_hints, self.shape)
        lightness = gray_to_lightness(self.luma(index)[None])
        ab = self.model.predict(lightness, hint_ab, hint_mask, 1)[0]
        if planned.palette is not None:
            ab = apply_palette(lightness[0], ab, planned.palette)
        ab = chroma_record(ab).astype(np.float32)
        with self._lock:
            if self._hint_frames is hint_frames:
                self._chroma[index] = ab
                while len(self._chroma) > CHROMA_CACHE:
                    self._chroma.popitem(last=False)
        return ab

    def prefetch(self, index: int = 0) -> threading.Thread:
        """Color frame ``index`` in a background thread (the page opens on it).

        The first network pass also warms the network up (its first call is slower), so a
        page that opens while this runs waits for less. Errors are left for the page's own
        request to report.
        """
        def work() -> None:
            try:
                self.chroma(index)
            except Exception:  # noqa: BLE001, S110 - the page's request reports it
                pass

        thread = threading.Thread(target=work, name="vidcolor-preview-prefetch", daemon=True)
        thread.start()
        return thread

    def color_frame(self, index: int) -> np.ndarray:
        """``(H, W, 3)`` uint8 sRGB of frame ``index`` at full size, as players show it."""
        rgb = colorize_gray(self.gray(index), self.chroma(index), backend=self.model.backend)
        return np.ascontiguousarray(displayed_image(rgb, self.turns))

    def suggest(self, index: int, x: float, y: float, k: int = 5) -> list[PaletteColor]:
        """Likely colors at a point of a frame, given the hints that reach that frame.

        Args:
            index: the frame.
            x: fraction of the displayed width in [0, 1].
            y: fraction of the displayed height in [0, 1].
            k: how many colors.
        """
        for name, value in (("x", x), ("y", y)):
            if not 0.0 <= value <= 1.0:
                raise InputError(f"found {value}; expected a number in [0, 1]", field=name)
        sx, sy = stored_point(x, y, self.turns)
        frame_hints = self.tracked_hints(index)
        with self._model_lock:
            return suggest_colors_gray(self.gray(index), sx, sy, frame_hints, self.model,
                                       self.options.model.working_size, k)

    def play_shot(self, index: int, cancel: CancelToken | None = None,
                  size: int = PLAYBACK_SIZE) -> Iterator[tuple[int, np.ndarray]]:
        """The shot holding frame ``index``, colored as a render colors it, frame by frame.

        The whole shot goes through ``run.shot.colorize_shot`` (tracking, network,
        temporal smoothing) in a worker thread; each frame is yielded as soon as its chroma
        is final, composed at a preview size.

        Args:
            index: any frame of the shot.
            cancel: stops the playback (checked between frames).
            size: shorter side of the yielded frames (never enlarged).

        Yields:
            ``(frame index, (h, w, 3) uint8 sRGB)`` in frame order, displayed orientation.
        """
        cancel = cancel if cancel is not None else CancelToken()
        shot = self.shot_at(index)
        planned = self.plan(shot)
        flows = self._shot_flows(shot)
        ready: queue.Queue = queue.Queue(maxsize=8)
        options = replace(self.options, model=replace(self.options.model, batch_size=1))
        ph, pw = working_shape(self.info.height, self.info.width, size, multiple=2)

        def write(i: int, ab: np.ndarray) -> None:
            while True:
                cancel.check()
                try:
                    ready.put((i, chroma_record(ab).astype(np.float32)), timeout=0.2)
                    return
                except queue.Full:
                    continue

        def work() -> None:
            try:
                colorize_shot(shot, self.luma, flows.pair, planned, self.model, options,
                              write, cancel)
                ready.put(None)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the reading side
                try:
                    ready.put(exc, timeout=1.0)
                except queue.Full:
                    pass

        worker = threading.Thread(target=work, name="vidcolor-preview-shot", daemon=True)
        worker.start()
        try:
            while True:
                item = ready.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    if isinstance(item, Cancelled):
                        return
                    raise item
                i, ab = item
                gray = cv2.resize(self.gray(i), (pw, ph), interpolation=cv2.INTER_AREA)
                rgb = colorize_gray(gray, ab, backend=self.model.backend)
                yield i, np.ascontiguousarray(displayed_image(rgb, self.turns))
        finally:
            cancel.cancel("playback stopped")
            worker.join(timeout=5)

    # ------------------------------------------------------------------ render

    def render(self, dst: str | Path, progress: Progress | None = None,
               cancel: CancelToken | None = None, **changes: object) -> RunReport:
        """The real render of the film with the folder's hints (``run.video.run_video``).

        Runs with ``resume`` and ``overwrite``: a render stopped by ``cancel`` with a
        ``signum`` keeps its work folder, and the next one continues from its last shot
        when the hints and options are the same.

        Args:
            dst: the output file.
            progress: receives the run's progress.
            cancel: stops the run.
            **changes: encode options replaced for this render (``codec``, ``crf``).
        """
        encode = replace(self.options.encode, overwrite=True, **changes)
        options = replace(self.options, resume=True, encode=encode)
        return run_video(self.src, dst, load_hints(self.hints_dir), options,
                         model=ChromaModel(self.model.model), progress=progress,
                         cancel=cancel)

    def close(self) -> None:
        """Stop the analysis and remove the temporary folder."""
        self._analysis.close()
        self._temp.cleanup()
