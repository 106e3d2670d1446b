"""Write a tiny test clip with PyAV; run with the main venv's Python (bpy's venv has no av).

Frame ``i`` is a flat gray of level ``16 + 12 * i`` (clipped to 235) with a white bar in the
top-left corner ``4 * i`` pixels wide, so a decoded frame tells its own index. An optional
stereo sine audio track makes the file usable as a sound strip source too.

Usage: python make_clip.py OUT.mp4 [--frames N] [--size WxH] [--fps R] [--audio]
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import av
import numpy as np


def frame_level(index: int) -> int:
    """The gray level of frame ``index`` (uint8)."""
    return min(16 + 12 * index, 235)


def write_clip(path: str, frames: int, width: int, height: int, fps: int, audio: bool) -> None:
    with av.open(path, "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "10", "g": "4"}
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=48000)
            sound.layout = "stereo"
        for index in range(frames):
            rgb = np.full((height, width, 3), frame_level(index), np.uint8)
            rgb[: max(2, height // 8), : min(width, 4 * index)] = 255
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if sound is not None:
            total = int(48000 * frames / fps)
            t = np.arange(total) / 48000.0
            tone = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = tone[start : start + 1024]
                planes = np.stack([chunk, chunk])
                frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = 48000, start
                container.mux(sound.encode(frame))
            container.mux(sound.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--size", default="64x48")
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--audio", action="store_true")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    write_clip(args.out, args.frames, width, height, args.fps, args.audio)


if __name__ == "__main__":
    main()
