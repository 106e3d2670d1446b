"""Re-identifying hinted content that comes back into view within a shot. Pure.

A tracked hint point whose content left the picture (or stopped looking like its hinted
patch) is not forgotten by ``hints.track``: it becomes a *ghost* that keeps moving with the
picture's overall motion, outside the picture if need be. Once the camera brings its place
back into view, :func:`reidentify` looks around that predicted place for content that
looks like the hinted patch on the hint frame, on the analysis copy of the luma
(Gaussian-smoothed, so grain does not count):

* a *plain* patch (sky, wall, road) matches where the brightness relative to the frame's
  mean is the hint frame's (flicker cancels) and the place is still plain;
* a *textured* patch matches where its normalized cross-correlation with the hinted patch
  is high (``cv2.matchTemplate``, ``TM_CCOEFF_NORMED``) and the place is textured.

The search radius grows with the time the point was lost (the overall motion is
integrated, so its error adds up). Content that never was hinted stays unhinted: a ghost
is only looked for where the overall motion says its content is, so a pan onto new
content (the ghosts are then outside the picture) paints nothing there.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Appearance:
    """What a frame's analysis luma looks like, as the trackers measure it.

    Attributes:
        smooth: ``(H, W)`` float32 Gaussian-smoothed luma (0..255).
        mean: ``(H, W)`` float32 box mean of ``smooth`` over the patch window.
        std: ``(H, W)`` float32 box standard deviation of ``smooth`` over that window.
        level: mean of the frame (> 0).
    """

    smooth: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    level: float


@dataclass(frozen=True)
class Wanted:
    """The hinted patches looked for, as parallel arrays of ``N`` ghosts.

    Attributes:
        u: ``(N,)`` float32 predicted column (continuous pixels; may lie outside).
        v: ``(N,)`` float32 predicted row.
        radius: ``(N,)`` int64 search radius in pixels.
        patch: ``(N, K)`` float32 smoothed luma patch on the hint frame, ``K = window^2``.
        ref: ``(N,)`` float32 patch brightness / frame mean on the hint frame.
        plain: ``(N,)`` bool, the patch was plain on the hint frame.
    """

    u: np.ndarray
    v: np.ndarray
    radius: np.ndarray
    patch: np.ndarray
    ref: np.ndarray
    plain: np.ndarray


def plain_surface(frame: Appearance, ref: float,
                  area: tuple[slice, slice] = (slice(None), slice(None)), *,
                  plain_max_std: float, level_tolerance: float,
                  level_floor: float) -> np.ndarray:
    """Where ``area`` of the frame is a plain surface of relative brightness ``ref``.

    Args:
        frame: the analysis view.
        ref: patch brightness / frame level looked for (flicker cancels).
        area: ``(rows, cols)`` slices of the frame to test; all of it by default.
        plain_max_std: plain where ``frame.std`` is at most this,
        level_tolerance: and the relative brightness is within this fraction of ``ref``,
        level_floor: plus this many gray levels.

    Returns:
        ``(h, w)`` bool over ``area``.
    """
    level = frame.mean[area] / frame.level
    tol = level_tolerance * ref + level_floor / frame.level
    return (np.abs(level - ref) <= tol) & (frame.std[area] <= plain_max_std)


def reidentify(frame: Appearance, wanted: Wanted, *, window: int, plain_max_std: float,
               textured_min_std: float, level_tolerance: float, level_floor: float,
               min_ncc: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Look for each wanted patch around its predicted place.

    Args:
        frame: the analysis view of the frame searched.
        wanted: the ghosts' predictions and hinted patches.
        window: side of the patch (odd), as on the hint frame.
        plain_max_std: a plain patch matches only where ``std`` is at most this,
        textured_min_std: a textured one only where it is above this.
        level_tolerance: relative-brightness slack of a plain match, as a fraction of
            ``ref``,
        level_floor: plus this many gray levels.
        min_ncc: correlation a textured match needs, in [-1, 1].

    Returns:
        ``(u, v, found)``: ``(N,)`` float32 pixel-centre coordinates of the best match
        (the prediction where none) and ``(N,)`` bool. A ghost whose predicted place is
        not inside the picture by half a window is not looked for (not found).
    """
    n = len(wanted.u)
    u_out = np.asarray(wanted.u, np.float32).copy()
    v_out = np.asarray(wanted.v, np.float32).copy()
    found = np.zeros(n, bool)
    h, w = frame.smooth.shape
    half = window // 2
    for i in range(n):
        col, row = int(np.floor(wanted.u[i])), int(np.floor(wanted.v[i]))
        if not (half <= row < h - half and half <= col < w - half):
            continue
        r = int(wanted.radius[i])
        top, bottom = max(half, row - r), min(h - half - 1, row + r)
        left, right = max(half, col - r), min(w - half - 1, col + r)
        rows, cols = np.mgrid[top:bottom + 1, left:right + 1]
        std = frame.std[top:bottom + 1, left:right + 1]
        if wanted.plain[i]:
            ok = plain_surface(frame, wanted.ref[i], (slice(top, bottom + 1),
                                                      slice(left, right + 1)),
                               plain_max_std=plain_max_std, level_tolerance=level_tolerance,
                               level_floor=level_floor)
            score = np.zeros(ok.shape)  # every matching place is that surface: the nearest
        else:
            if wanted.patch.shape[1] != window * window:
                continue
            tpl = wanted.patch[i].reshape(window, window).astype(np.float32)
            if float(tpl.std()) < 1e-3:
                continue
            area = np.ascontiguousarray(
                frame.smooth[top - half:bottom + half + 1, left - half:right + half + 1])
            score = cv2.matchTemplate(area, tpl, cv2.TM_CCOEFF_NORMED)
            score = np.nan_to_num(score, nan=-1.0, posinf=-1.0, neginf=-1.0)
            ok = (score >= min_ncc) & (std > textured_min_std)
        if not ok.any():
            continue
        # the best match, the nearest one among equal scores
        dist2 = (rows - row) ** 2 + (cols - col) ** 2
        ranked = np.where(ok, score - 1e-4 * dist2, -np.inf)
        k = int(np.argmax(ranked))
        v_out[i] = rows.ravel()[k] + 0.5
        u_out[i] = cols.ravel()[k] + 0.5
        found[i] = True
    return u_out, v_out, found
