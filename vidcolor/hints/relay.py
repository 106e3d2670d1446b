"""Handing a plain hint on to the rest of its surface as its place leaves the picture. Pure.

When a camera pans, a point hint on the sky (or a wall, a road, a field) leaves the picture
while the same sky stays in view: the sky seen after the pan was never hinted at that
place, and without help the network paints it its own default. ``hints.track`` remembers
the point that left as a ghost (``hints.reid``) and, on that same frame, asks
:func:`relay_places` for a *relay*: a new point on the part of the same surface that is
still in view, which is then tracked like the original. Across a long pan the hint hops
from relay to relay along the surface.

The surface is what the plain tracking already calls "the same surface", on the analysis
copy of the luma (smoothed, so grain does not count): plain places whose brightness
relative to the frame's mean is the hint frame's (flicker cancels). A relay is placed
only where:

* the plain places of that brightness that touch the point's exit place (where its
  content left the picture, or the last place it was seen plain) form one connected
  region in the frame, the surface it left;
* inside that region, within ``reach`` of the exit place (so it stays the local surface),
  at the place farthest from the region's edge and the picture's (the patch lies wholly
  on the surface);
* and no point of (nearly) the same color already sits on that region: a surface still
  hinted needs no relay, and two points leaving one surface get one relay.

Content that only resembles the hint elsewhere in the frame, not connected to where the
hint left, is never painted: a look-alike across an edge is weak evidence, and a wrong
hint is worse than none.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidcolor.hints.reid import Appearance, plain_surface


def relay_places(frame: Appearance, u: np.ndarray, v: np.ndarray, ref: np.ndarray,
                 ab: np.ndarray, held_u: np.ndarray, held_v: np.ndarray,
                 held_ab: np.ndarray, *, window: int, plain_max_std: float,
                 level_tolerance: float, level_floor: float, reach: float,
                 same_color: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each plain point that left the picture hands its hint on, if anywhere.

    Args:
        frame: the analysis view of the frame the points left (their destination).
        u: ``(N,)`` float32 predicted column of each leaving point (continuous pixels; may
            lie outside the picture).
        v: ``(N,)`` float32 predicted row.
        ref: ``(N,)`` float32 the hinted patch's brightness / frame mean on the hint frame.
        ab: ``(N, 2)`` float32 the points' hint colors.
        held_u: ``(M,)`` float32 columns of the points still tracked on this frame.
        held_v: ``(M,)`` float32 their rows.
        held_ab: ``(M, 2)`` float32 their colors.
        window: side of a point's patch (odd); a relay's patch lies on the surface.
        plain_max_std: the surface is where ``frame.std`` is at most this,
        level_tolerance: and the relative brightness is within this fraction of ``ref``,
        level_floor: plus this many gray levels.
        reach: largest distance, as a fraction of the shorter side, from the exit place.
        same_color: a held point within this many ab units of a leaving point's color
            makes the surface already hinted.

    Returns:
        ``(u, v, found)``: ``(N,)`` float32 pixel-centre coordinates of each relay (the
        input where none) and ``(N,)`` bool.
    """
    n = len(u)
    u_out = np.asarray(u, np.float32).copy()
    v_out = np.asarray(v, np.float32).copy()
    found = np.zeros(n, bool)
    h, w = frame.smooth.shape
    half = window // 2
    if n == 0 or h <= 2 * half + 2 or w <= 2 * half + 2:
        return u_out, v_out, found
    rows, cols = np.mgrid[0:h, 0:w]
    # the points on the frame, this call's relays included: a surface holding one of
    # (nearly) the leaving point's color needs no relay
    held_rows = list(np.clip(np.floor(held_v).astype(np.int64), 0, h - 1))
    held_cols = list(np.clip(np.floor(held_u).astype(np.int64), 0, w - 1))
    held_colors = list(np.asarray(held_ab, np.float32).reshape(-1, 2))
    radius = max(reach * min(h, w), float(window))
    for i in range(n):
        surface = plain_surface(frame, ref[i], plain_max_std=plain_max_std,
                                level_tolerance=level_tolerance,
                                level_floor=level_floor).astype(np.uint8)
        row = int(np.clip(np.floor(v[i]), 0, h - 1))
        col = int(np.clip(np.floor(u[i]), 0, w - 1))
        # the exit place itself, or the nearest surface pixel within a window of it
        top, bottom = max(0, row - window), min(h, row + window + 1)
        left, right = max(0, col - window), min(w, col + window + 1)
        near = surface[top:bottom, left:right]
        if not near.any():
            continue
        _, labels = cv2.connectedComponents(surface, connectivity=4)
        d2 = (rows[top:bottom, left:right] - row) ** 2 + (cols[top:bottom, left:right] - col) ** 2
        k = int(np.argmin(np.where(near > 0, d2, np.iinfo(np.int64).max)))
        region = labels == labels[top:bottom, left:right].ravel()[k]
        if held_colors and _colored(region, np.asarray(held_rows), np.asarray(held_cols),
                                    np.asarray(held_colors), ab[i], same_color):
            continue
        # depth inside the region; the picture's edge counts as the region's edge
        padded = np.pad(region.astype(np.uint8), 1)
        depth = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
        depth[(rows - row) ** 2 + (cols - col) ** 2 > radius * radius] = 0
        best = int(np.argmax(depth))
        if depth.ravel()[best] <= half:
            continue  # no place where the whole patch lies on the surface
        r, c = divmod(best, w)
        v_out[i], u_out[i] = r + 0.5, c + 0.5
        found[i] = True
        held_rows.append(r)
        held_cols.append(c)
        held_colors.append(np.asarray(ab[i], np.float32))
    return u_out, v_out, found


def _colored(region: np.ndarray, rows: np.ndarray, cols: np.ndarray, abs_: np.ndarray,
             ab: np.ndarray, same_color: float) -> bool:
    """Whether a point of (nearly) color ``ab`` sits on ``region``."""
    on = region[rows, cols]
    if not on.any():
        return False
    dist = np.linalg.norm(np.asarray(abs_, np.float32)[on] - np.asarray(ab, np.float32), axis=1)
    return bool((dist <= same_color).any())
