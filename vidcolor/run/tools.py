"""Work on a film before a run: list its shots, export frames to paint hints on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vidcolor.errors import InputError
from vidcolor.frames import displayed_image, quarter_turns, working_shape
from vidcolor.hints.template import write_template
from vidcolor.io.decode import iter_luma, iter_video_frames
from vidcolor.io.probe import probe
from vidcolor.options import ModelOptions
from vidcolor.temporal.shots import CutDetector, format_timecode, shots_from_cuts


@dataclass(frozen=True)
class ShotEntry:
    """One shot of a film as ``vidcolor shots`` lists it.

    Attributes:
        shot: 0-based shot number.
        start: first frame index.
        stop: one past the last frame index.
        seconds: presentation time of the first frame.
        timecode: ``seconds`` as ``HH:MM:SS.mmm``.
    """

    shot: int
    start: int
    stop: int
    seconds: float
    timecode: str


def find_shots(src: str | Path, working_size: int = ModelOptions.working_size
               ) -> dict[str, object]:
    """The analysis pass alone: cut detection over a whole file (``vidcolor shots``).

    Args:
        src: the video.
        working_size: shorter side at which luma is compared.

    Returns:
        ``{"input", "frames", "cuts", "shots": [ShotEntry as a dict, ...]}``; ``start`` and
        ``stop`` are frame indices (stop exclusive).
    """
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
    entries = [ShotEntry(s.index, s.start, s.stop, starts.get(s.start, 0.0),
                         format_timecode(starts.get(s.start, 0.0))) for s in shots]
    return {
        "input": str(src),
        "frames": frames,
        "cuts": [s.start for s in shots[1:]],
        "shots": [asdict(e) for e in entries],
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
    # People paint on the picture as players show it; hints map back at run time.
    turns = quarter_turns(probe(src).rotation)
    if frames is None:
        found = find_shots(src)
        frames = [int(sh["start"]) for sh in found["shots"]]  # type: ignore[union-attr]
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
