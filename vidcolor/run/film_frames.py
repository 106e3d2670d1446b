"""A film held for random access by a live preview: decoded once, flows on demand.

* :class:`FilmFrames`: one decode pass in a background thread spills every frame's
  working-resolution luma (``io.decode.frame_gray``, as a render's analysis computes it)
  and its full-size 8-bit gray (``VideoPlane.gray``, as a render's encode reads it) to a
  folder, and finds the cuts (``temporal.shots.CutDetector``) as frames arrive. Questions
  about a frame wait only for what they need.
* :class:`ShotFlowCache`: a shot's optical-flow pairs and forward-backward masks, computed
  pair by pair on first use with the render's estimator, and kept.
* :class:`LockedModel`: the network shared by the preview's threads, one call at a time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vidcolor.errors import DecodeError, InputError
from vidcolor.hints.track import ShotFlows
from vidcolor.io.decode import DecodeReport, frame_gray, frame_y_plane, iter_frames
from vidcolor.io.probe import VideoInfo
from vidcolor.options import RunOptions
from vidcolor.run.model import ChromaModel
from vidcolor.run.shot import LazyRecords
from vidcolor.run.workdir import RecordFile
from vidcolor.temporal.flow import FlowEstimator, forward_backward_mask
from vidcolor.temporal.shots import CutDetector, Shot, shots_from_cuts


class FilmFrames:
    """The decode pass, in a thread: luma and gray spilled by frame, cuts as they are found.

    Args:
        src: the film.
        info: its probe.
        shape: working resolution ``(h, w)``.
        options: ``strict`` and ``fps`` are used (as a render decodes).
        folder: where ``luma.u8`` and ``gray.u8`` go.
    """

    def __init__(self, src: Path, info: VideoInfo, shape: tuple[int, int],
                 options: RunOptions, folder: Path):
        self.src, self.info, self.shape, self.options = src, info, shape, options
        self.luma = RecordFile(folder / "luma.u8", shape, np.uint8)
        self.gray = RecordFile(folder / "gray.u8", (info.height, info.width), np.uint8)
        self.frames = 0
        self.cuts: list[int] = []
        self.done = False
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vidcolor-preview-analysis",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        h, w = self.shape
        detector = CutDetector()
        try:
            for frame_time, frame in iter_frames(self.src, strict=self.options.strict,
                                                 report=DecodeReport(),
                                                 rate=self.options.fps):
                if self._stop.is_set():
                    return
                luma = frame_gray(frame, (w, h))
                gray = frame_y_plane(frame).gray
                if gray.shape != (self.info.height, self.info.width):
                    raise DecodeError(f"frame {frame_time.index} is {gray.shape[1]}x"
                                      f"{gray.shape[0]}; expected {self.info.width}x"
                                      f"{self.info.height} like the stream", path=self.src)
                self.luma.write(frame_time.index, luma)
                self.gray.write(frame_time.index, gray)
                cut = detector.push(luma)
                with self._cond:
                    if cut:
                        self.cuts.append(frame_time.index)
                    self.frames = frame_time.index + 1
                    self._cond.notify_all()
            if self.frames == 0:
                raise DecodeError("no video frame could be decoded", path=self.src)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting question
            with self._cond:
                self.error = exc
        finally:
            with self._cond:
                self.done = True
                self._cond.notify_all()

    def raise_error(self) -> None:
        """Raise the decode pass's error, if it failed."""
        if self.error is not None:
            if isinstance(self.error, InputError):
                raise self.error
            raise DecodeError(f"the film could not be read: {self.error}", path=self.src)

    def wait(self, ready: Callable[[], bool]) -> None:
        """Block until ``ready()`` (called under the lock) or the analysis ended."""
        with self._cond:
            while not ready() and not self.done:
                self._cond.wait(0.5)
            if not ready():
                self.raise_error()

    def shot_at(self, index: int) -> Shot:
        """The shot holding frame ``index``, once the analysis has found where it ends.

        Raises:
            InputError: ``index`` is not a frame of the film.
        """
        self.check_frame(index)
        self.wait(lambda: any(c > index for c in self.cuts))
        with self._cond:
            before = [c for c in self.cuts if c <= index]
            after = [c for c in self.cuts if c > index]
            start = before[-1] if before else 0
            stop = after[0] if after else self.frames
            return Shot(start, stop, index=len(before))

    def check_frame(self, index: int) -> None:
        """Wait until frame ``index`` is decoded.

        Raises:
            InputError: ``index`` is not a frame of the film.
        """
        if index < 0:
            raise InputError(f"found frame {index}; expected a frame index >= 0",
                             field="frame")
        self.wait(lambda: self.frames > index)
        with self._cond:
            if index >= self.frames:
                raise InputError(f"frame {index} is past the end of the film; expected "
                                 f"0..{self.frames - 1} ({self.frames} frames)",
                                 path=self.src, field="frame")

    def all_shots(self) -> list[Shot]:
        """Every shot of the film (waits for the whole analysis)."""
        self.wait(lambda: False)
        self.raise_error()
        return shots_from_cuts(list(self.cuts), self.frames)

    def close(self) -> None:
        """Stop the decode pass and close the spill files."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.luma.close()
        self.gray.close()


class ShotFlowCache:
    """One shot's flow pairs and forward-backward masks, computed on first use and kept."""

    def __init__(self, shot: Shot, luma: Callable[[int], np.ndarray], lock: threading.Lock,
                 estimator: FlowEstimator):
        self.shot = shot
        self._luma, self._lock, self._estimator = luma, lock, estimator
        self._pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._masks: dict[tuple[int, bool], np.ndarray] = {}

    def pair(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(fwd, bwd)`` of the pair ``(shot.start + k, shot.start + k + 1)``."""
        found = self._pairs.get(k)
        if found is None:
            with self._lock:  # OpenCV's DIS object is not thread-safe
                found = self._pairs.get(k)
                if found is None:
                    start = self.shot.start
                    found = self._estimator.pair(self._luma(start + k), self._luma(start + k + 1))
                    self._pairs[k] = found
        return found

    def mask(self, k: int, forward: bool) -> np.ndarray:
        """``forward_backward_mask`` of pair ``k`` (forward: on the earlier frame's grid)."""
        key = (k, forward)
        found = self._masks.get(key)
        if found is None:
            fwd, bwd = self.pair(k)
            found = forward_backward_mask(fwd, bwd) if forward else forward_backward_mask(bwd, fwd)
            self._masks[key] = found
        return found

    def views(self, start: int, stop: int) -> ShotFlows:
        """``hints.track.ShotFlows`` of the frames ``start <= i < stop`` of this shot."""
        offset, n = start - self.shot.start, max(0, stop - start - 1)
        return ShotFlows(
            forward=LazyRecords(lambda k: self.pair(offset + k)[0], n),
            backward=LazyRecords(lambda k: self.pair(offset + k)[1], n),
            forward_ok=LazyRecords(lambda k: self.mask(offset + k, True), n),
            backward_ok=LazyRecords(lambda k: self.mask(offset + k, False), n),
        )


class BoundedDict(OrderedDict):
    """A dict that forgets its oldest entries past ``limit`` (thread-safe enough: the GIL)."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: object, value: object) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            self.popitem(last=False)


class LockedModel(ChromaModel):
    """The session's network, one prediction at a time (previews and playback share it)."""

    def __init__(self, model: ChromaModel, lock: threading.Lock):
        super().__init__(model.model)
        self._lock = lock

    def predict(self, lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray,
                batch_size: int) -> np.ndarray:
        """``ChromaModel.predict``, holding the lock."""
        with self._lock:
            return super().predict(lightness, hint_ab, hint_mask, batch_size)
