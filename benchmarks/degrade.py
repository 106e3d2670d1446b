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

The degraded luma is what the colorizer sees; scoring must use the *true* lightness (the
clean gray conversion), since the input's luma is degraded on purpose.

As a module::

    from benchmarks.degrade import degrade_frames
    film = degrade_frames(gray_frames, strength=1.0, seed=0)

As a command (writes a near-lossless gray H.264 clip)::

    python benchmarks/degrade.py ../shared/data/video/davis/cows.mp4 -o cows_film.mp4 \\
        --strength 1 --seed 0 [--max-frames 60]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass(frozen=True)
class FilmLook:
    """The size of each degradation at strength 1, for a 480-line picture.

    Attributes:
        grain: grain standard deviation, gray levels (0..255).
        grain_blur: spatial correlation of the grain, pixels (Gaussian sigma).
        flicker_gain: standard deviation of the per-frame relative gain.
        flicker_offset: standard deviation of the per-frame offset, gray levels.
        weave: typical gate-weave displacement, pixels.
        dust: mean number of dust specks per frame.
        scratches: mean number of scratches visible at a time.
        soften: Gaussian blur sigma of the picture, pixels.
    """

    grain: float = 9.0
    grain_blur: float = 0.6
    flicker_gain: float = 0.05
    flicker_offset: float = 3.0
    weave: float = 1.0
    dust: float = 3.0
    scratches: float = 1.2
    soften: float = 0.8


def to_gray(frame: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB frame (a gray frame is returned as is), uint8."""
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _weave_path(n: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random (dx, dy) per frame with standard deviation about ``amplitude``."""
    if n == 0 or amplitude <= 0:
        return np.zeros((n, 2), np.float32)
    steps = rng.normal(0, 1, (n + 8, 2))
    kernel = np.array([1, 2, 3, 2, 1], np.float64)
    smooth = np.stack([np.convolve(steps[:, c], kernel, "same") for c in range(2)], axis=1)
    smooth = smooth[4:4 + n]
    smooth /= max(smooth.std(), 1e-6)
    return (smooth * amplitude).astype(np.float32)


def degrade_frames(frames: Sequence[np.ndarray], strength: float = 1.0, seed: int = 0,
                   look: FilmLook = FilmLook()) -> list[np.ndarray]:
    """A film-like gray version of a sequence of frames.

    Args:
        frames: ``(H, W, 3)`` uint8 RGB or ``(H, W)`` uint8 gray frames, all one size.
        strength: scales every effect (0 = clean gray conversion).
        seed: random seed; the same seed gives the same output.
        look: the size of each effect at strength 1.

    Returns:
        ``(H, W)`` uint8 gray frames, one per input frame.
    """
    if not frames:
        return []
    rng = np.random.default_rng(seed)
    h, w = frames[0].shape[:2]
    scale = min(h, w) / 480.0
    s = float(strength)
    n = len(frames)
    weave = _weave_path(n, look.weave * s * scale, rng)
    gains = 1.0 + rng.normal(0, look.flicker_gain * s, n)
    offsets = rng.normal(0, look.flicker_offset * s, n)
    # scratches: (start frame, duration, x, drift per frame, brightness)
    scratches = []
    count = rng.poisson(look.scratches * s * max(1, n // 25)) if s > 0 else 0
    for _ in range(count):
        duration = int(rng.integers(8, 40))
        scratches.append((int(rng.integers(-duration // 2, n)), duration,
                          float(rng.uniform(0, w)), float(rng.normal(0, 0.4 * scale)),
                          float(rng.choice([-1, 1]) * rng.uniform(25, 60))))
    out = []
    for t, frame in enumerate(frames):
        g = to_gray(frame).astype(np.float32)
        if s > 0 and look.soften > 0:
            g = cv2.GaussianBlur(g, (0, 0), look.soften * s * scale)
        if s > 0 and (weave[t] != 0).any():
            m = np.float32([[1, 0, weave[t, 0]], [0, 1, weave[t, 1]]])
            g = cv2.warpAffine(g, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        g = g * gains[t] + offsets[t]
        for start, duration, x0, drift, value in scratches:
            if start <= t < start + duration:
                x = int(round(x0 + drift * (t - start)))
                if 0 <= x < w:
                    width = max(1, int(round(scale)))
                    g[:, x:x + width] += value * (0.6 + 0.4 * rng.random())
        if s > 0:
            for _ in range(rng.poisson(look.dust * s)):
                cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
                axes = (max(1, int(rng.uniform(1, 4) * scale)),
                        max(1, int(rng.uniform(1, 3) * scale)))
                value = 20.0 if rng.random() < 0.5 else 235.0
                cv2.ellipse(g, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, value, -1)
            if look.grain > 0:
                noise = rng.normal(0, 1, (h, w)).astype(np.float32)
                if look.grain_blur > 0:
                    noise = cv2.GaussianBlur(noise, (0, 0), look.grain_blur * scale)
                    noise /= max(float(noise.std()), 1e-6)
                g += noise * (look.grain * s)
        out.append(np.clip(g + 0.5, 0, 255).astype(np.uint8))
    return out


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
    """Encode gray frames as a near-lossless H.264 clip (even size)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = w - w % 2, h - h % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "4", "preset": "veryfast"}
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
