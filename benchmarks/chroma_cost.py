"""What writing 4:4:4 costs against 4:2:2 / 4:2:0: encode time per frame, in one run.

Usage::

    python benchmarks/make_prores_clip.py /tmp/scan1080 --dpx-scan --frames 12
    python benchmarks/chroma_cost.py /tmp/scan1080 --codec prores --against 422
    python benchmarks/chroma_cost.py /tmp/scan1080 --codec x264 --against 420

The frames are decoded once into memory; then the source's default layout (4:4:4 for an
RGB scan) and ``--against`` are encoded in turn, ``--rounds`` times each (A B A B ...), so
a load that changes during the run falls on both alike. Reports the median ms per frame
of each and their ratio. Neutral chroma: this is the encoder's cost, not the color's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def encode_ms(frames: list, info, dst: Path, codec: str, chroma: str | None) -> tuple[float, str]:
    """ms per frame to encode ``frames`` (``(FrameTime, Y)``), and the pixel format written."""
    from vidcolor.io.encode import VideoWriter
    from vidcolor.options import EncodeOptions

    t0 = time.perf_counter()
    with VideoWriter(dst, info, EncodeOptions(codec=codec, chroma=chroma,
                                              overwrite=True)) as writer:
        cw, ch = writer.chroma_size
        deep = writer.bit_depth > 8
        neutral = np.full((ch, cw), 1 << (writer.bit_depth - 1), np.uint16 if deep else np.uint8)
        for frame_time, y in frames:
            writer.write(frame_time, y, neutral, neutral)
    return 1000.0 * (time.perf_counter() - t0) / len(frames), writer.pix_fmt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path, help="a video file or an image sequence")
    parser.add_argument("--codec", default="prores")
    parser.add_argument("--against", default="422", choices=("420", "422", "444"))
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from vidcolor.io.decode import iter_video_frames
    from vidcolor.io.probe import probe

    info = probe(args.clip)
    frames = []
    for frame_time, plane in iter_video_frames(args.clip):
        frames.append((frame_time, plane.y))
        if len(frames) >= args.frames:
            break
    suffix = ".mov" if args.codec in ("prores", "dnxhd") else ".mkv"
    times: dict[str | None, list[float]] = {None: [], args.against: []}
    formats = {}
    with tempfile.TemporaryDirectory(prefix="vidcolor-chroma-") as tmp:
        for _ in range(args.rounds):
            for chroma in times:
                ms, formats[chroma] = encode_ms(frames, info, Path(tmp) / f"o{suffix}",
                                                args.codec, chroma)
                times[chroma].append(ms)
    default, other = (statistics.median(times[c]) for c in times)
    print(f"{info.width}x{info.height} {info.pix_fmt}, {len(frames)} frames, {args.codec}, "
          f"{args.rounds} rounds")
    print(f"default ({formats[None]}): {default:8.1f} ms/frame")
    print(f"--chroma {args.against} ({formats[args.against]}): {other:8.1f} ms/frame")
    print(f"ratio default / --chroma {args.against}: {default / other:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
