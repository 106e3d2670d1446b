"""The work folder ``<output>.vidcolor-work/``: everything a run keeps on disk, and resume.

A run spills to the work folder what would not fit in memory and what ``--resume`` needs:

* ``manifest.json``: the run's fingerprint (input file, hints, options, format); earlier
  work is reused only when it matches exactly;
* ``analysis.json``: the analysis pass's result (:class:`Analysis`);
* ``luma.u8``: every frame's working-resolution luma, one record per frame;
* ``ab_<shot>.i8`` and ``ab_<shot>.done``: a shot's finished chroma, and the marker that
  says it is complete (written after the chroma is flushed);
* ``flow_fwd_<shot>.f32``/``flow_bwd_<shot>.f32``: a shot's optical flow while it is
  colorized (:class:`FlowSpill`), deleted after.

Records are fixed-size and read with ``pread``/``pwrite`` (:class:`RecordFile`), so memory
does not grow with the film. This module is the only one that knows this layout, and the
only one that decides what an interrupted run can reuse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vidcolor.atomic import stale_temp_files, write_json
from vidcolor.errors import OutputError
from vidcolor.hints.format import FrameHints
from vidcolor.io.probe import VideoInfo
from vidcolor.options import RunOptions
from vidcolor.temporal.shots import Shot, shots_from_cuts

log = logging.getLogger("vidcolor")

#: Bump when the work-folder layout or the per-shot computation changes: old work is redone.
WORK_FORMAT = 2
# Bytes per working-resolution pixel per frame that stay in the work folder for the whole
# run: luma (uint8) and finished chroma (2 x int8). A shot's flows come and go with it.
WORK_BYTES_PER_PIXEL = 3

JsonValue = dict[str, object] | list[object] | str | int | float | bool | None


class RecordFile:
    """Fixed-size array records in a plain file, read and written by index.

    Frame ``i`` lives at byte ``i * record_size``. Reads and writes are
    ``os.pread``/``os.pwrite``, so memory does not grow with the file, and several threads
    may read at once.

    Args:
        path: the file; created if missing.
        shape: shape of one record.
        dtype: NumPy dtype of one record.
    """

    def __init__(self, path: str | Path, shape: tuple[int, ...], dtype: np.dtype | type):
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


class FlowSpill:
    """Forward and backward flow of every consecutive pair of one shot, in two record files.

    Record ``k`` holds the pair ``(start + k, start + k + 1)``: ``fwd`` moves frame
    ``start + k`` to the next, ``bwd`` says where a pixel of the next frame was before.
    """

    def __init__(self, folder: Path, shot: Shot, shape: tuple[int, int]):
        h, w = shape
        self.shot = shot
        self.fwd = RecordFile(folder / f"flow_fwd_{shot.index:05d}.f32", (h, w, 2), np.float32)
        self.bwd = RecordFile(folder / f"flow_bwd_{shot.index:05d}.f32", (h, w, 2), np.float32)

    def fill(self, pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> FlowSpill:
        """Store every ``(fwd, bwd)`` pair in order; on any error the files are removed.

        Returns:
            This spill, full.
        """
        try:
            for k, (fwd, bwd) in enumerate(pairs):
                self.fwd.write(k, fwd)
                self.bwd.write(k, bwd)
        except BaseException:
            self.delete()
            raise
        return self

    def pair(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(fwd, bwd)`` of pair ``k``, each ``(h, w, 2)`` float32."""
        return self.fwd.read(k), self.bwd.read(k)

    def delete(self) -> None:
        """Close and remove the files."""
        for rec in (self.fwd, self.bwd):
            rec.close()
            with contextlib.suppress(OSError):
                rec.path.unlink()


@dataclass(frozen=True)
class Analysis:
    """What the analysis pass found: the one value the later passes work from.

    Attributes:
        frames: frames decoded.
        cuts: first frame index of every shot after the first, ascending.
        decode_errors_filled: frames that failed to decode and were filled from a neighbour.
    """

    frames: int
    cuts: tuple[int, ...]
    decode_errors_filled: int = 0

    @property
    def shots(self) -> list[Shot]:
        """The shots, in order (``temporal.shots.Shot``)."""
        return shots_from_cuts(list(self.cuts), self.frames)


def chroma_record(ab: np.ndarray) -> np.ndarray:
    """Finished chroma as stored in the work folder: whole ab units in int8.

    Rounding moves a color by at most 0.5 ab units (a tenth of a just-noticeable
    difference) and takes 2 bytes a pixel instead of float16's 4: a feature film's work
    folder shrinks by 30 GB.

    Args:
        ab: ``(h, w, 2)`` float chroma, within [-110, 110] from the network.

    Returns:
        ``(h, w, 2)`` int8.
    """
    return np.clip(np.rint(ab), -128, 127).astype(np.int8)


def work_dir_for(dst: str | Path) -> Path:
    """The work folder of an output file: ``<output>.vidcolor-work`` beside it."""
    dst = Path(dst)
    return dst.with_name(dst.name + ".vidcolor-work")


def work_bytes_estimate(info: VideoInfo, shape: tuple[int, int]) -> int | None:
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
    size = (info.sequence.approx_bytes() if info.sequence is not None
            else info.path.stat().st_size)
    return frames * h * w * WORK_BYTES_PER_PIXEL + size


def check_free_space(folder: Path, needed: int | None,
                     what: str = "the work folder and output",
                     remedy: str = "write the output to another disk") -> None:
    """Refuse to start a run that would fill the disk hours in.

    Args:
        folder: a folder on the file system that will be written.
        needed: bytes needed, or None when unknown (no check).
        what: what needs them, for the message.
        remedy: what else the user can do, for the message.

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
            f"not enough free space: {what} need about "
            f"{needed / 1e9:.2f} GB, {free / 1e9:.2f} GB is free; free some space or "
            f"{remedy}", path=folder)


def fingerprint(src: Path, hint_frames: dict[int, FrameHints], options: RunOptions,
                info: VideoInfo) -> dict[str, JsonValue]:
    """What earlier work must match to be reused: input file, hints, options, format.

    ``batch_size`` is left out: results do not depend on it.
    """
    if info.sequence is not None:  # an image sequence: its pattern, numbering, end files
        identity = info.sequence.identity()
    else:
        st = src.stat()
        identity = f"{src.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return {
        "format": WORK_FORMAT,
        "input": identity,
        "hints": _hints_digest(hint_frames),
        "model": asdict(options.model) | {"batch_size": None},
        "temporal": asdict(options.temporal),
        "size": [info.width, info.height],
    }


def _hints_digest(hint_frames: dict[int, FrameHints]) -> str:
    sha = hashlib.sha256()
    for index in sorted(hint_frames):
        fh = hint_frames[index]
        sha.update(repr((index, fh.points, fh.reference)).encode())
        for arr in (fh.scribble, fh.reference_rgb):
            if arr is not None:
                sha.update(np.ascontiguousarray(arr).tobytes())
    return sha.hexdigest()


class WorkFolder:
    """The work folder of one run (see the module docstring).

    Args:
        dst: the run's output file; the folder is ``<dst>.vidcolor-work`` beside it.
    """

    def __init__(self, dst: Path):
        self.dst = dst
        self.path = work_dir_for(dst)

    # ---- lifetime
    def open(self, expected: dict[str, JsonValue], *, resume: bool) -> bool:
        """Create the folder, or reuse it when ``resume`` and its manifest is ``expected``.

        Temp files of a killed run beside the output, and flow spills of an interrupted
        shot, are removed.

        Returns:
            True when earlier work is reused.
        """
        for stale in stale_temp_files(self.dst):
            with contextlib.suppress(OSError):
                stale.unlink()
        manifest = self.path / "manifest.json"
        if self.path.exists():
            if resume and _read_json(manifest) == expected:
                for spill in self.path.glob("flow_*.f32"):
                    with contextlib.suppress(OSError):
                        spill.unlink()
                return True
            if resume:
                log.warning("%s: earlier work does not match this input, hints or options; "
                            "starting over", self.path)
            self.remove()
        try:
            self.path.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot create the work folder ({exc.strerror})",
                              path=self.path) from exc
        _write_json(manifest, expected)
        return False

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.path, ignore_errors=True)

    # ---- analysis
    def load_analysis(self) -> Analysis | None:
        """The analysis of an earlier run of this folder, or None."""
        state = _read_json(self.path / "analysis.json")
        if not isinstance(state, dict):
            return None
        return Analysis(frames=int(state["frames"]), cuts=tuple(int(c) for c in state["cuts"]),
                        decode_errors_filled=int(state["filled"]))

    def save_analysis(self, analysis: Analysis) -> None:
        """Record a finished analysis pass."""
        _write_json(self.path / "analysis.json", {
            "frames": analysis.frames, "cuts": list(analysis.cuts),
            "filled": analysis.decode_errors_filled})

    def luma(self, shape: tuple[int, int]) -> RecordFile:
        """Every frame's ``(h, w)`` uint8 working-resolution luma."""
        return RecordFile(self.path / "luma.u8", shape, np.uint8)

    # ---- shots
    def flow_spill(self, shot: Shot, shape: tuple[int, int]) -> FlowSpill:
        """Empty flow files for ``shot``."""
        return FlowSpill(self.path, shot, shape)

    def shot_chroma_path(self, shot: Shot) -> Path:
        """The file of a shot's finished chroma."""
        return self.path / f"ab_{shot.index:05d}.i8"

    def shot_chroma(self, shot: Shot, shape: tuple[int, int]) -> RecordFile:
        """A shot's finished chroma: record ``k`` is frame ``shot.start + k``.

        Records are ``(h, w, 2)`` int8 (:func:`chroma_record`).
        """
        h, w = shape
        return RecordFile(self.shot_chroma_path(shot), (h, w, 2), np.int8)

    def is_done(self, shot: Shot) -> bool:
        """Whether the shot's chroma is complete (an earlier run finished it)."""
        return self._done_marker(shot).exists()

    def mark_done(self, shot: Shot) -> None:
        """Record that the shot's chroma is complete (after it was flushed)."""
        _write_json(self._done_marker(shot), {"frames": len(shot)})

    def _done_marker(self, shot: Shot) -> Path:
        return self.path / f"ab_{shot.index:05d}.done"


def _write_json(path: Path, data: JsonValue) -> None:
    try:
        write_json(path, data)
    except OSError as exc:
        raise OutputError(f"cannot write the work folder ({exc.strerror})", path=path) from exc


def _read_json(path: Path) -> JsonValue:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
