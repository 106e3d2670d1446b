"""Is vidcolor's default x264 encode the same from run to run, and what does mbtree cost?

The default output encode is libx264, preset medium, crf 16, tune grain. On the PyAV
wheel's libx264 the same frames encoded twice in one process can decode to different
pictures (a few levels apart) when the macroblock tree (``mbtree``) is on together with
``tune grain``. This encodes each clip ``--repeats`` times with the default options and with
``x264-params=mbtree=0`` added, and reports for each: how many distinct decoded results the
repeats gave, the file size, and the luma PSNR against the source (the same gray frames
are encoded each time; chroma is neutral, as in ``throughput.py``'s transcode).

Usage::

    .venv/bin/python benchmarks/x264_determinism.py \\
        ../shared/data/video/bw/a-bomb_blast_effects_1950s.mp4 \\
        ../shared/data/video/davis/bmx-trees.mp4 --frames 120
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import sys
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidcolor.io.encode import VideoWriter, fill_plane  # noqa: E402
from vidcolor.io.formats import check_output_format, codec_options  # noqa: E402
from vidcolor.options import EncodeOptions  # noqa: E402


def default_x264_options() -> dict[str, str]:
    """The options vidcolor's writer gives libx264 for an 8-bit 4:2:0 ``.mp4``."""
    writer = VideoWriter.__init__.__kwdefaults__
    return codec_options(check_output_format(Path("out.mp4"), "x264"), "yuv420p",
                         EncodeOptions().crf, preset=writer["preset"], tune=writer["tune"],
                         interlaced=False)


def _y_plane(frame: av.VideoFrame) -> np.ndarray:
    """The frame's Y plane as stored (no range conversion), ``(H, W)`` uint8."""
    planar = frame.reformat(format="yuv420p").to_ndarray()
    return planar[: frame.height]


def read_luma(path: Path, frames: int) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            y = _y_plane(frame)
            out.append(np.ascontiguousarray(y[: y.shape[0] // 2 * 2, : y.shape[1] // 2 * 2]))
            if len(out) >= frames:
                break
    return out


def encode(luma: list[np.ndarray], options: dict[str, str]) -> tuple[bytes, list[np.ndarray]]:
    h, w = luma[0].shape
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = options
        neutral = np.full((h // 2, w // 2), 128, np.uint8)
        for i, y in enumerate(luma):
            frame = av.VideoFrame(w, h, "yuv420p")
            for plane, values in zip(frame.planes, (y, neutral, neutral), strict=True):
                fill_plane(plane, values)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = buf.getvalue()
    with av.open(io.BytesIO(data)) as container:
        decoded = [_y_plane(f) for f in container.decode(video=0)]
    return data, decoded


def psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    mse = np.mean([np.mean((x.astype(np.float64) - y) ** 2) for x, y in zip(a, b, strict=True)])
    return 10 * math.log10(255**2 / mse) if mse > 0 else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args(argv)
    default = default_x264_options()
    variants = {"default": default, "mbtree=0": {**default, "x264-params": "mbtree=0"}}
    print("| clip | options | distinct results of repeats | size (KiB) | luma PSNR (dB) |")
    print("|---|---|---|---|---|")
    for clip in args.clips:
        luma = read_luma(clip, args.frames)
        for name, options in variants.items():
            digests, size, quality = set(), 0, 0.0
            for _ in range(args.repeats):
                data, decoded = encode(luma, options)
                digests.add(hashlib.sha256(b"".join(d.tobytes() for d in decoded)).hexdigest())
                size, quality = len(data), psnr(luma, decoded)
            print(f"| {clip.stem} ({len(luma)} frames) | {name} | {len(digests)} of "
                  f"{args.repeats} | {size / 1024:.0f} | {quality:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
