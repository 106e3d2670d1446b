"""Decode and encode speed of vidcolor.io on a given clip (no model involved).

Usage:
    nice -n 15 .venv/bin/python benchmarks/io_throughput.py CLIP [--out-dir DIR] [--preset P]

Measures, in frames per second:
  * raw PyAV decode (frames decoded, nothing read out): the floor;
  * iter_luma at full size (Y plane read directly, limited->full range LUT);
  * iter_luma resized to the working size (shorter side 256, multiple of 8);
  * iter_video_frames + VideoWriter (decode + encode with audio copy, constant chroma):
    the "transcode only" path of the video pipeline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from vidcolor.io import VideoWriter, iter_luma, iter_video_frames, probe
from vidcolor.options import EncodeOptions


def _fps(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def raw_decode(path: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        n = sum(1 for _ in c.decode(stream))
    return n, time.perf_counter() - t0


def luma(path: Path, size) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = sum(1 for _ in iter_luma(path, size))
    return n, time.perf_counter() - t0


def transcode(path: Path, out_dir: Path, preset: str, ext: str) -> tuple[int, float]:
    info = probe(path)
    cw, ch = (info.width + 1) // 2, (info.height + 1) // 2
    u = np.full((ch, cw), 140, np.uint8)
    v = np.full((ch, cw), 120, np.uint8)
    t0 = time.perf_counter()
    n = 0
    dst = out_dir / f"io_bench{ext}"
    with VideoWriter(dst, info, EncodeOptions(overwrite=True), preset=preset) as writer:
        if writer.pix_fmt == "yuv444p":
            u = np.full((info.height, info.width), 140, np.uint8)
            v = np.full((info.height, info.width), 120, np.uint8)
        for t, plane in iter_video_frames(path):
            writer.write(t, plane.y, u, v)
            n += 1
    return n, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--ext", default=".mkv")
    args = parser.parse_args()
    info = probe(args.clip)
    short = min(info.width, info.height)
    scale = 256 / short
    size = (max(8, round(info.width * scale / 8) * 8), max(8, round(info.height * scale / 8) * 8))
    print(f"{args.clip.name}: {info.width}x{info.height} {info.pix_fmt}, "
          f"{info.frame_count} frames, audio {[a.codec for a in info.audio]}")
    rows = [("raw PyAV decode", raw_decode(args.clip)),
            ("iter_luma full size", luma(args.clip, None)),
            (f"iter_luma {size[0]}x{size[1]}", luma(args.clip, size))]
    with tempfile.TemporaryDirectory(dir=args.out_dir) as tmp:
        rows.append((f"decode+encode ({args.preset}, {args.ext})",
                     transcode(args.clip, Path(tmp), args.preset, args.ext)))
    for name, (n, secs) in rows:
        print(f"  {name:36s} {n:5d} frames {secs:7.2f} s {_fps(n, secs):8.1f} fps")


if __name__ == "__main__":
    main()
