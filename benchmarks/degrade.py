"""Make film-like black-and-white versions of color clips, for film-realistic evaluation.

Old film differs from a clean gray conversion in ways that hurt optical flow and hint
tracking: grain (independent noise in every frame), flicker (the exposure of each frame
differs), gate weave (the whole picture jitters by about a pixel), dust (specks on single
frames), scratches (thin vertical lines that last several frames and drift) and softening
(the lens and generations of copies blur fine detail). :func:`degrade_frames` adds all of
them to a sequence of frames, deterministically for a given ``seed``; ``strength`` scales
every effect together (0: only the gray conversion, 1: a worn print, 2: a bad one).

The sizes are given for a 480-line picture and scale with the frame's shorter side. At
strength 1: grain sigma 9 gray levels (slightly correlated, so it survives downscaling as
real grain does), flicker +-5% gain and +-3 levels offset per frame, weave a smooth random
walk of about 1 px, about 3 dust specks per frame, one or two scratches at a time, and a
Gaussian blur of sigma 0.8 px.

The effects themselves live in :mod:`vidcolor.filmlook` (one copy, shared with the trainer's
augmentation); this script adds clip reading and writing.

The degraded luma is what the colorizer sees; scoring must use the *true* lightness (the
clean gray conversion), since the input's luma is degraded on purpose.

As a module::

    from benchmarks.degrade import degrade_frames
    film = degrade_frames(gray_frames, strength=1.0, seed=0)

As a command (writes a lossless gray H.264 clip)::

    python benchmarks/degrade.py ../shared/data/video/davis/cows.mp4 -o cows_film.mp4 \\
        --strength 1 --seed 0 [--max-frames 60]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidcolor.filmlook import FilmLook, degrade_frames, degrade_still, to_gray

__all__ = ["FilmLook", "degrade_frames", "degrade_still", "read_frames", "to_gray",
           "write_gray"]


def read_frames(path: Path, max_frames: int | None = None) -> tuple[list[np.ndarray], Fraction]:
    """Decode a clip to RGB frames, and its frame rate."""
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or 25)
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames and len(frames) >= max_frames:
                break
    return frames, rate


def write_gray(frames: Sequence[np.ndarray], path: Path, fps: Fraction) -> None:
    """Encode gray frames as a lossless H.264 clip (even size): the same luma every time.

    Lossless (qp 0), so the luma a run decodes is the frames' (up to the 8-bit limited-range
    mapping of yuv420p, at most one gray level), whatever the encoder decides. At crf 4
    (near-lossless, up to about 6 levels off) libx264 decided differently from one write of
    the same frames to the next, even on one thread (measured: DAVIS blackswan, 3 different
    clips in 5 writes in one process), and hint tracking turned those few levels into a point
    kept or lost: 25.70 or 25.42 dB for the same colorizer.
    """
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = w - w % 2, h - h % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"qp": "0", "preset": "veryfast"}
        for gray in frames:
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(gray[: stream.height, : stream.width]), format="gray")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", type=Path, help="a color (or gray) clip")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--strength", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-frames", type=int, default=None)
    args = parser.parse_args(argv)
    frames, fps = read_frames(args.clip, args.max_frames)
    if not frames:
        parser.error(f"{args.clip}: no frames")
    write_gray(degrade_frames(frames, args.strength, args.seed), args.output, fps)
    print(f"{args.output}: {len(frames)} frames, strength {args.strength}, seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
