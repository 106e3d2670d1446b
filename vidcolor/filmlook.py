"""Film-like degradations of gray frames: grain, flicker, gate weave, dust, scratches, blur.

Old film differs from a clean gray conversion in ways that hurt optical flow, hint tracking
and the hint network: grain (independent noise in every frame), flicker (the exposure of each
frame differs), gate weave (the whole picture jitters by about a pixel), dust (specks on
single frames), scratches (thin vertical lines that last several frames and drift) and
softening (the lens and generations of copies blur fine detail). :func:`degrade_frames` adds
all of them to a sequence of frames, deterministically for a given ``seed``; ``strength``
scales every effect together (0: only the gray conversion, 1: a worn print, 2: a bad one).
:func:`degrade_still` gives one training frame the single-frame effects.

The sizes are given for a 480-line picture and scale with the frame's shorter side. At
strength 1: grain sigma 9 gray levels (slightly correlated, so it survives downscaling as
real grain does), flicker +-5% gain and +-3 levels offset per frame, weave a smooth random
walk of about 1 px, about 3 dust specks per frame, one or two scratches at a time, and a
Gaussian blur of sigma 0.8 px.

One copy for the benchmarks (``benchmarks/degrade.py`` makes film-like clips with it) and the
trainer (``vidcolor.train --film-share``: augmentation of the network's input luma). Pure
functions of arrays; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
                _scratch(g, x0 + drift * (t - start), value, scale, rng)
        if s > 0:
            _dust_and_grain(g, s, scale, look, rng)
        out.append(np.clip(g + 0.5, 0, 255).astype(np.uint8))
    return out


def _scratch(g: np.ndarray, x: float, value: float, scale: float,
             rng: np.random.Generator) -> None:
    """Add one vertical scratch line at column ``x`` (in place)."""
    x = int(round(x))
    if 0 <= x < g.shape[1]:
        width = max(1, int(round(scale)))
        g[:, x:x + width] += value * (0.6 + 0.4 * rng.random())


def _dust_and_grain(g: np.ndarray, s: float, scale: float, look: FilmLook,
                    rng: np.random.Generator) -> None:
    """Dust specks, then grain, on a float gray frame (in place)."""
    h, w = g.shape
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


def degrade_still(gray: np.ndarray, strength: float, rng: np.random.Generator,
                  look: FilmLook = FilmLook(), *, reference_side: int | None = None
                  ) -> np.ndarray:
    """One film-like training frame: the single-frame effects of :func:`degrade_frames`.

    No gate weave (it would move the picture off its target colors). Softening, a flicker
    gain and offset, scratches (Poisson, mean ``look.scratches``), dust and grain, drawn
    from ``rng``.

    Args:
        gray: ``(H, W)`` uint8 gray frame.
        strength: scales every effect (0 returns the frame unchanged).
        rng: the random generator (the caller's, so a seeded run repeats).
        look: the size of each effect at strength 1.
        reference_side: the shorter side of the whole frame this picture is cut from,
            for the effects' sizes (default: this picture's own shorter side).

    Returns:
        ``(H, W)`` uint8 gray.
    """
    s = float(strength)
    if s <= 0:
        return gray
    h, w = gray.shape
    scale = (reference_side or min(h, w)) / 480.0
    g = gray.astype(np.float32)
    if look.soften > 0:
        g = cv2.GaussianBlur(g, (0, 0), look.soften * s * scale)
    g = g * (1.0 + rng.normal(0, look.flicker_gain * s)) + rng.normal(0, look.flicker_offset * s)
    for _ in range(rng.poisson(look.scratches * s)):
        _scratch(g, float(rng.uniform(0, w)), float(rng.choice([-1, 1]) * rng.uniform(25, 60)),
                 scale, rng)
    _dust_and_grain(g, s, scale, look, rng)
    return np.clip(g + 0.5, 0, 255).astype(np.uint8)
