"""Write a short 1080p 10-bit ProRes 422 HQ clip, or a 16-bit DPX scan, for benchmarks.

Usage::

    python benchmarks/make_prores_clip.py OUT.mov [--frames 48]
    python benchmarks/make_prores_clip.py SCAN_DIR --dpx-scan [--frames 24]

Moving gradients and noise (film-like grain) that use all 10 bits of the luma, tagged
BT.709 with a start timecode, as a scanner or a finishing suite would deliver. With
``--dpx-scan``, the same picture as numbered 16-bit RGB DPX files (a black-and-white film
scan: R = G = B), each with its timecode in the television header.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidcolor.io.dpx import with_television_header  # noqa: E402
from vidcolor.io.encode import fill_plane  # noqa: E402
from vidcolor.io.timecode import offset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--dpx-scan", action="store_true",
                        help="write OUT/000001.dpx ... (16-bit RGB) instead of a ProRes clip")
    args = parser.parse_args()
    width, height = 1920, 1080
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if args.dpx_scan:
        write_dpx_scan(args.out, args.frames, xx, yy, rng)
        return
    with av.open(str(args.out), "w") as out:
        stream = out.add_stream("prores_ks", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv422p10le"
        stream.options = {"profile": "3", "vendor": "apl0"}
        ctx = stream.codec_context
        ctx.color_range, ctx.colorspace, ctx.color_primaries, ctx.color_trc = 1, 1, 1, 1
        stream.metadata["timecode"] = "01:00:00:00"
        for i in range(args.frames):
            t = (np.sin(xx / 90.0 + i * 0.1) + np.cos(yy / 70.0 - i * 0.05)) / 4.0 + 0.5
            t += rng.normal(0, 0.01, t.shape).astype(np.float32)
            y = np.clip(64 + t * (940 - 64), 64, 940).astype(np.uint16)
            frame = av.VideoFrame(width, height, "yuv422p10le")
            neutral = np.full((frame.planes[1].height, frame.planes[1].width), 512, np.uint16)
            for plane, values in zip(frame.planes, (y, neutral, neutral), strict=True):
                fill_plane(plane, values)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def write_dpx_scan(folder: Path, frames: int, xx: np.ndarray, yy: np.ndarray,
                   rng: np.random.Generator) -> None:
    """16-bit gray-as-RGB DPX files 000001.dpx ..., timecode 01:00:00:00 on."""
    folder.mkdir(parents=True, exist_ok=True)
    height, width = xx.shape
    for i in range(frames):
        t = (np.sin(xx / 90.0 + i * 0.1) + np.cos(yy / 70.0 - i * 0.05)) / 4.0 + 0.5
        t += rng.normal(0, 0.01, t.shape).astype(np.float32)
        gray = np.clip(t * 65535.0, 0, 65535).astype(np.uint16)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.repeat(gray[..., None], 3, 2)),
                                           format="rgb48le")
        ctx = av.CodecContext.create("dpx", "w")
        ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = width, height, "rgb48le", 1
        frame.pts = 0
        data = b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])
        data = with_television_header(data, offset("01:00:00:00", i, 24), 24)
        (folder / f"{i + 1:06d}.dpx").write_bytes(data)


if __name__ == "__main__":
    main()
