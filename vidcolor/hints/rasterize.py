"""Turning hints into the network's inputs: a dense ab hint map and a hint mask. Pure."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidcolor.color import rgb_to_lab
from vidcolor.errors import HintError
from vidcolor.hints.format import FrameHints, HintPoint


def point_pixel(x: float, y: float, height: int, width: int) -> tuple[int, int]:
    """The pixel a hint centre falls in.

    Args:
        x: fraction of the width in [0, 1].
        y: fraction of the height in [0, 1].
        height: frame height in pixels.
        width: frame width in pixels.

    Returns:
        ``(row, col)``: ``(floor(y * H), floor(x * W))``, clipped into the frame (so
        ``x = 1`` lands in the last column).
    """
    col = min(max(int(np.floor(x * width)), 0), width - 1)
    row = min(max(int(np.floor(y * height)), 0), height - 1)
    return row, col


def patch_side(size: float | None, height: int, width: int) -> int:
    """Side in pixels of a hint's square patch.

    Args:
        size: the hint's ``size`` (fraction of the shorter side) or None for one pixel.
        height: frame height in pixels.
        width: frame width in pixels.

    Returns:
        ``max(1, round(size * min(H, W)))``, or 1 when ``size`` is None.
    """
    if size is None:
        return 1
    return max(1, int(round(size * min(height, width))))


def patch_bounds(point: HintPoint, height: int, width: int) -> tuple[int, int, int, int]:
    """The pixel rectangle a point hint covers, clipped to the frame.

    The centre ``(u, v) = (x * W, y * H)`` is in continuous pixel coordinates (pixel ``i``
    spans ``[i, i + 1)``), clamped into the frame. A patch of side ``s`` starts at
    ``floor(u - s / 2 + 0.5)``: a one-pixel patch is the pixel the centre falls in
    (:func:`point_pixel`), and an even patch is symmetric about the centre.

    Returns:
        ``(top, bottom, left, right)`` as half-open slice bounds.
    """
    u = min(max(point.x * width, 0.0), width * (1 - 1e-9))
    v = min(max(point.y * height, 0.0), height * (1 - 1e-9))
    side = patch_side(point.size, height, width)
    left = int(np.floor(u - side / 2 + 0.5))
    top = int(np.floor(v - side / 2 + 0.5))
    return max(top, 0), min(top + side, height), max(left, 0), min(left + side, width)


def scribble_to_ab(scribble: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale an RGBA scribble layer to the frame and convert it to hint chroma.

    The hint/no-hint decision (alpha >= 128) is resized with nearest-neighbour sampling, so
    it stays crisp; the colors are area-averaged over the hint pixels only, so transparent
    pixels never bleed into them.

    Args:
        scribble: ``(h, w, 4)`` uint8 RGBA at any size.
        height: frame height.
        width: frame width.

    Returns:
        ``ab`` ``(H, W, 2)`` float32 (0 outside hints) and ``on`` ``(H, W)`` bool.
    """
    if scribble.ndim != 3 or scribble.shape[2] != 4 or scribble.dtype != np.uint8:
        raise HintError(f"scribble has shape {scribble.shape} and dtype {scribble.dtype}; "
                        "expected (h, w, 4) uint8 RGBA", field="scribble")
    hit = (scribble[:, :, 3] >= 128).astype(np.uint8)
    on = cv2.resize(hit, (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    ab_full = rgb_to_lab(np.ascontiguousarray(scribble[:, :, :3]))[:, :, 1:]
    weighted = ab_full * hit[:, :, None].astype(np.float32)
    if (scribble.shape[0], scribble.shape[1]) == (height, width):
        return np.where(on[:, :, None], ab_full, 0).astype(np.float32), on
    interp = cv2.INTER_AREA if scribble.shape[0] >= height else cv2.INTER_LINEAR
    ab_sum = cv2.resize(weighted, (width, height), interpolation=interp)
    cover = cv2.resize(hit.astype(np.float32), (width, height), interpolation=interp)
    # Where nearest sampling says "hint" but area averaging saw none (thin strokes), fall
    # back to the nearest pixel's own color.
    ab_near = cv2.resize(ab_full, (width, height), interpolation=cv2.INTER_NEAREST)
    ab = np.where(cover[:, :, None] > 1e-6, ab_sum / np.maximum(cover, 1e-6)[:, :, None], ab_near)
    return np.where(on[:, :, None], ab, 0).astype(np.float32), on


def rasterize_hints(
    points: FrameHints | Sequence[HintPoint],
    height: int,
    width: int,
    scribble: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterize hints into a dense chroma map and a confidence mask.

    Each point covers the square patch of :func:`patch_bounds` with its ``ab``; where
    patches overlap, their chroma is averaged by weight and the mask takes the largest
    weight. Scribble pixels (alpha >= 128) have weight 1 and replace points under them.

    Args:
        points: a :class:`FrameHints` (its points and scribble are used) or a sequence of
            :class:`HintPoint`.
        height: output height in pixels (the working resolution).
        width: output width in pixels.
        scribble: ``(h, w, 4)`` uint8 RGBA layer at any size; overrides ``points.scribble``.

    Returns:
        ``ab``: ``(H, W, 2)`` float32 hint chroma, 0 where there is no hint;
        ``mask``: ``(H, W)`` float32 in [0, 1], the hint weight (0 = no hint).

    Example:
        >>> ab, mask = rasterize_hints([HintPoint(0.5, 0.5, (20.0, -10.0))], 4, 6)
        >>> float(mask[2, 3]), ab[2, 3].tolist(), float(mask.sum())
        (1.0, [20.0, -10.0], 1.0)
    """
    if height <= 0 or width <= 0:
        raise HintError(f"found a {height}x{width} frame; expected a positive size",
                        field="height/width")
    if isinstance(points, FrameHints):
        if scribble is None:
            scribble = points.scribble
        points = points.points
    ab_sum = np.zeros((height, width, 2), np.float32)
    w_sum = np.zeros((height, width), np.float32)
    mask = np.zeros((height, width), np.float32)
    for point in points:
        weight = float(min(max(point.weight, 0.0), 1.0))
        if weight <= 0.0:
            continue
        top, bottom, left, right = patch_bounds(point, height, width)
        ab_sum[top:bottom, left:right] += weight * np.asarray(point.ab, np.float32)
        w_sum[top:bottom, left:right] += weight
        np.maximum(mask[top:bottom, left:right], weight, out=mask[top:bottom, left:right])
    ab = ab_sum / np.maximum(w_sum, 1e-12)[:, :, None]
    if scribble is not None:
        s_ab, on = scribble_to_ab(scribble, height, width)
        ab[on] = s_ab[on]
        mask[on] = 1.0
    ab[mask <= 0] = 0.0
    return ab.astype(np.float32), mask
