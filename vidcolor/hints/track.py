"""Carrying hints through a shot by following optical flow. Pure: flows are passed in.

How it works (user-level description in ``docs/HINTS.md``):

* Every hint frame's points (and its scribble, sampled as points: one per
  ``scribble_step`` x ``scribble_step`` cell that holds scribble pixels, at those pixels'
  mean position and color) are carried forwards to the end of the shot and backwards to
  its start, one frame pair at a time, by bilinearly sampling the flow at the point.
* Whether a point still sits on its content is decided from the consistency masks the
  pipeline computes once per frame pair (``ShotFlows.forward_ok`` / ``backward_ok``, from
  ``temporal.flow.forward_backward_mask``; tracking has no forward-backward test of its
  own) and from *appearance* on an analysis copy of the luma (``track_hints(...,
  luma=...)``, Gaussian-smoothed so grain does not count; the output luma is never
  touched). A point is *plain* or *textured* by the contrast of its patch on its hint
  frame, once:

  - a textured point follows the flow where the mask is True under it. Where the mask is
    False, it is kept only when the place the flow gives still looks like the patch it
    came from and like its hinted patch (normalized cross-correlation, so flicker does not
    count); otherwise it is taken for occluded and dropped at once;
  - a plain point (sky, walls, clothing) does not trust the flow at all: there the flow is
    undetermined (the aperture problem), and grain and gate weave make the
    forward-backward test fail at random, yet uncertain flow on a plain surface is not an
    occlusion. It moves with the picture's overall motion (a similarity fitted by RANSAC
    to the consistent flow of textured pixels), or failing that with the flow where the
    mask is True, and is kept where the place still has its hint frame's brightness
    relative to the frame's mean (flicker cancels) and is still plain. Otherwise it is
    re-acquired at the best such place within ``TrackOptions.search`` pixels; where none
    is, it gets a strike and is not painted on that frame, and ``max_strikes`` strikes in
    a row lose it (content that is covered or replaced stays unlike it; a dust speck or a
    scratch lasts a frame).

  A point whose centre leaves the picture, and a plain point that struck out within
  ``reid_radius`` of the picture's edge (on its way out), are not forgotten: they become
  *ghosts* that move with the picture's overall motion (outside the picture too) and are
  looked for again near their predicted place, by their hinted patch (``hints.reid``),
  within a radius that grows with the time they were lost. One found on ``reid_confirm``
  frames in a row is tracked and painted again from there: content that a handheld camera
  shook out of the picture, or that a pan left and came back to, gets its hint back; new
  content is never looked at, since no ghost is predicted there. A plain point that
  struck out in the interior (covered) and a textured point judged occluded are dropped
  for good (a look-alike near their place is weak evidence).

  A plain point that leaves that way also hands its hint on to the part of its surface
  still in view (``hints.relay``): the sky seen after a pan takes the sky's hint, while
  content the hint's surface does not reach stays unhinted.

  Without ``luma`` there is no appearance to decide from, and a point is dropped at the
  first pair whose mask is False under it, or when its centre leaves the picture.
* When a sweep reaches another hint frame, carried points that fall on that frame's own
  hints (within ``override_radius`` of a point patch or scribble pixel) are dropped: the
  new hint frame overrides stale hints near it. Points elsewhere carry on.
* On every frame, points from different hint frames that compete for the same place
  (within ``override_radius`` of each other) are weighted by inverse temporal distance,
  ``w_i = (1/d_i) / sum_j (1/d_j)`` over the competing hint frames. Between two hint
  frames at distances ``d1`` and ``d2`` this is the linear blend ``d2 / (d1 + d2)``. A
  point that nothing contradicts keeps weight 1. A hint frame's own hints have weight 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from vidcolor.errors import HintError
from vidcolor.hints.format import FrameHints, HintPoint
from vidcolor.hints.level import BrightnessChain
from vidcolor.hints.rasterize import patch_bounds, scribble_to_ab
from vidcolor.hints.reid import Appearance, Wanted, reidentify
from vidcolor.hints.relay import relay_places


@dataclass(frozen=True)
class TrackOptions:
    """Tuning of hint tracking.

    Sizes are in pixels at the working resolution, levels in gray levels (0..255) of the
    smoothed analysis luma.

    Attributes:
        override_radius: distance, as a fraction of the shorter side, within which hints
            of one hint frame compete with (or override) hints of another.
        scribble_step: side in pixels of the cells a scribble is sampled in.
        smooth_sigma: Gaussian sigma of the analysis copy of the luma (removes grain).
        window: side of the patch a point's appearance is measured on (odd).
        plain_std: a patch whose standard deviation (smoothed luma) is at most this is
            plain: its flow is not trusted, its brightness is its appearance.
        level_tolerance: a plain patch still matches when its brightness relative to the
            frame's mean is within this fraction of the hint frame's (plus
            ``level_floor`` levels).
        level_floor: absolute slack of the plain-patch test, gray levels.
        min_ncc: a textured patch still matches when its normalized cross-correlation
            with the patch it came from is at least this,
        min_ncc_hint: and with the hinted patch on the hint frame at least this.
        search: radius of the re-acquisition search around the predicted place.
        max_strikes: consecutive frames on which a point matches nowhere near before it
            is lost (a struck point is not painted).
        reid_radius: largest radius, as a fraction of the shorter side, around its
            predicted place within which a lost point's hinted patch is looked for
            (``hints.reid``); 0 turns re-identification off.
        reid_growth: the radius grows by this fraction of the shorter side per frame the
            point has been lost (from ``search``), as the overall motion's error adds up.
        reid_ncc: correlation with the hinted patch a textured lost point needs to be
            re-identified.
        reid_confirm: consecutive frames a lost point must be found on before it is
            painted again (a look-alike for one frame, a dust speck, does not count).
        relay_reach: a plain point leaving the picture hands its hint on to its surface
            within this fraction of the shorter side of where it left (``hints.relay``);
            0 turns relays off.
        relay_same_color: a surface already holding a point within this many ab units of
            the leaving point's color gets no relay.
        relay_tolerance: a relay's surface must match the hinted brightness within this
            fraction of the plain-match tolerance (``level_tolerance``, ``level_floor``):
            a new place needs closer evidence than a place the point moved to (measured:
            half the tolerance paints more relays and fewer on a wrong color).
    """

    override_radius: float = 0.04
    scribble_step: int = 4
    smooth_sigma: float = 1.5
    window: int = 9
    plain_std: float = 3.0
    level_tolerance: float = 0.1
    level_floor: float = 3.0
    min_ncc: float = 0.7
    min_ncc_hint: float = 0.5
    search: int = 3
    max_strikes: int = 3
    reid_radius: float = 0.05
    reid_growth: float = 0.002
    reid_ncc: float = 0.8
    reid_confirm: int = 2
    relay_reach: float = 0.3
    relay_same_color: float = 12.0
    relay_tolerance: float = 0.5


@dataclass(frozen=True)
class ShotFlows:
    """The flows of one shot of ``n`` frames, as computed by ``vidcolor.temporal.flow``.

    Each field is a sequence of length ``n - 1`` (lazy sequences are fine: each item is
    read twice, once per sweep). Item ``i`` is about the pair of frames
    ``(start + i, start + i + 1)``. Flows are ``(H, W, 2)`` float32 ``(dx, dy)`` in pixels
    at the working resolution; masks are ``(H, W)`` bool, True where consistent.

    Attributes:
        forward: on frame ``start + i``'s grid, where each pixel goes in ``start + i + 1``
            (``compute_flow(gray[i], gray[i + 1])``).
        backward: on frame ``start + i + 1``'s grid, where each pixel goes in
            ``start + i`` (``compute_flow(gray[i + 1], gray[i])``).
        forward_ok: on frame ``start + i``'s grid (``forward_backward_mask(fwd, bwd)``),
            or None when no consistency is known (every point is then trusted).
        backward_ok: on frame ``start + i + 1``'s grid
            (``forward_backward_mask(bwd, fwd)``), or None likewise.
    """

    forward: Sequence[np.ndarray]
    backward: Sequence[np.ndarray]
    forward_ok: Sequence[np.ndarray] | None = None
    backward_ok: Sequence[np.ndarray] | None = None


@dataclass
class _Points:
    """Carried points as parallel arrays (u, v are continuous pixel coordinates)."""

    u: np.ndarray
    v: np.ndarray
    ab: np.ndarray  # (N, 2)
    size: np.ndarray  # fraction of the shorter side, NaN = one pixel
    origin: np.ndarray  # int64 hint frame index
    strikes: np.ndarray  # int64 consecutive frames matching nowhere near
    ref: np.ndarray | None = None  # float32 brightness / frame mean on the hint frame
    patch: np.ndarray | None = None  # (N, K) float32 smoothed luma patch on the hint frame
    lost: np.ndarray | None = None  # int64 frames since a ghost was lost (0 = tracked)
    seen: np.ndarray | None = None  # int64 consecutive frames a ghost was found on

    def __post_init__(self) -> None:
        if self.ref is None:
            self.ref = np.full(len(self.u), np.nan, np.float32)
        if self.patch is None:
            self.patch = np.zeros((len(self.u), 0), np.float32)
        if self.lost is None:
            self.lost = np.zeros(len(self.u), np.int64)
        if self.seen is None:
            self.seen = np.zeros(len(self.u), np.int64)

    @staticmethod
    def empty() -> _Points:
        return _Points(np.zeros(0, np.float32), np.zeros(0, np.float32),
                       np.zeros((0, 2), np.float32), np.zeros(0, np.float32),
                       np.zeros(0, np.int64), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.u)

    def take(self, keep: np.ndarray) -> _Points:
        return _Points(*(a[keep] for a in self.fields()))

    def concat(self, other: _Points) -> _Points:
        if len(other) == 0:
            return self
        if len(self) == 0:
            return other
        return _Points(*(np.concatenate([a, b]) for a, b in
                         zip(self.fields(), other.fields(), strict=True)))

    def fields(self) -> tuple[np.ndarray, ...]:
        return (self.u, self.v, self.ab, self.size, self.origin, self.strikes, self.ref,
                self.patch, self.lost, self.seen)


def _sample(field: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear sample of an (H, W, C) float32 field at continuous pixel coordinates."""
    map_x = (u - 0.5).astype(np.float32)[None, :]
    map_y = (v - 0.5).astype(np.float32)[None, :]
    out = cv2.remap(np.ascontiguousarray(field, np.float32), map_x, map_y, cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(len(u), -1)


def _hint_points(hints: FrameHints, height: int, width: int, step: int) -> _Points:
    """A hint frame's points, plus its scribble sampled as points, for carrying."""
    us, vs, abs_, sizes = [], [], [], []
    for p in hints.points:
        us.append(p.x * width)
        vs.append(p.y * height)
        abs_.append(p.ab)
        sizes.append(np.nan if p.size is None else p.size)
    # x = 1 lands in the last column (as in the rasterizer), not outside the frame.
    us = np.clip(np.asarray(us, np.float32), 0, np.float32(width) * (1 - 1e-6))
    vs = np.clip(np.asarray(vs, np.float32), 0, np.float32(height) * (1 - 1e-6))
    pts = _Points(us, vs,
                  np.asarray(abs_, np.float32).reshape(-1, 2), np.asarray(sizes, np.float32),
                  np.full(len(us), hints.frame, np.int64), np.zeros(len(us), np.int64))
    if hints.scribble is not None:
        pts = pts.concat(_scribble_points(hints, height, width, step))
    return pts


def _scribble_points(hints: FrameHints, height: int, width: int, step: int) -> _Points:
    ab, on = scribble_to_ab(hints.scribble, height, width)
    ph, pw = -(-height // step) * step, -(-width // step) * step
    on_f = np.zeros((ph, pw), np.float32)
    on_f[:height, :width] = on
    abp = np.zeros((ph, pw, 2), np.float32)
    abp[:height, :width] = ab
    rows, cols = np.mgrid[0:ph, 0:pw].astype(np.float32)

    def cells(a: np.ndarray) -> np.ndarray:
        return a.reshape(ph // step, step, pw // step, step, *a.shape[2:]).sum(axis=(1, 3))

    count = cells(on_f)
    hit = count > 0
    n = count[hit]
    u = cells((cols + 0.5) * on_f)[hit] / n
    v = cells((rows + 0.5) * on_f)[hit] / n
    ab_mean = cells(abp * on_f[:, :, None])[hit] / n[:, None]
    size = np.full(len(n), step / min(height, width), np.float32)
    return _Points(u.astype(np.float32), v.astype(np.float32), ab_mean.astype(np.float32),
                   size, np.full(len(n), hints.frame, np.int64), np.zeros(len(n), np.int64))


def scribble_as_points(hints: FrameHints, height: int, width: int,
                       step: int = 4) -> tuple[HintPoint, ...]:
    """A frame's scribble layer as point hints: one per ``step`` x ``step`` cell it touches.

    Args:
        hints: the frame's hints (its ``scribble`` is used; None gives no points).
        height: working-resolution height the scribble is scaled to.
        width: working-resolution width.
        step: cell side in pixels.

    Returns:
        Points at each cell's scribble-pixel centroid, with their mean chroma and a patch
        of ``step`` pixels.
    """
    if hints.scribble is None:
        return ()
    pts = _scribble_points(hints, height, width, step)
    return tuple(
        HintPoint(float(u) / width, float(v) / height, (float(ab[0]), float(ab[1])), float(s))
        for u, v, ab, s in zip(pts.u, pts.v, pts.ab, pts.size, strict=True)
    )


@dataclass(frozen=True)
class _View(Appearance):
    """The analysis copy of one frame's luma (smoothed; never the output's luma)."""

    @staticmethod
    def of(gray: np.ndarray, options: TrackOptions) -> _View:
        g = np.asarray(gray, np.float32)
        if options.smooth_sigma > 0:
            g = cv2.GaussianBlur(g, (0, 0), options.smooth_sigma)
        k = (options.window, options.window)
        mean = cv2.blur(g, k, borderType=cv2.BORDER_REPLICATE)
        var = cv2.blur(g * g, k, borderType=cv2.BORDER_REPLICATE) - mean * mean
        return _View(g, mean, np.sqrt(np.maximum(var, 0)), max(float(g.mean()), 1.0))

    def relative(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Patch brightness relative to the frame's mean (flicker cancels)."""
        return self.mean[rows, cols] / self.level

    def patches(self, rows: np.ndarray, cols: np.ndarray, half: int) -> np.ndarray:
        """(N, (2 half + 1)^2) patches of ``smooth`` (replicated at the borders)."""
        h, w = self.smooth.shape
        off = np.arange(-half, half + 1)
        r = np.clip(rows[:, None, None] + off[None, :, None], 0, h - 1)
        c = np.clip(cols[:, None, None] + off[None, None, :], 0, w - 1)
        return self.smooth[r, c].reshape(len(rows), -1)


def _ncc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise normalized cross-correlation of two (N, K) patch sets (0 where flat)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(den > 1e-6, (a * b).sum(axis=1) / np.maximum(den, 1e-6), 0.0)


def _matches(pts: _Points, src: _View, dst: _View, rows: np.ndarray, cols: np.ndarray,
             rows2: np.ndarray, cols2: np.ndarray, plain: np.ndarray,
             options: TrackOptions, came_from: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Does the place ``(rows2, cols2)`` of ``dst`` look like each point's patch?

    ``came_from`` is ``src``'s patches at ``(rows, cols)``, when already cut out.
    Returns ``(match, score)``; a higher score is a better match.
    """
    level = dst.relative(rows2, cols2)
    tol = options.level_tolerance * pts.ref + options.level_floor / dst.level
    level_err = np.abs(level - pts.ref)
    plain_ok = (level_err <= tol) & (dst.std[rows2, cols2] <= 2 * options.plain_std)
    ncc = np.zeros(len(rows))
    textured_ok = np.zeros(len(rows), bool)
    tex = np.flatnonzero(~plain)
    if len(tex):
        half = options.window // 2
        here = dst.patches(rows2[tex], cols2[tex], half)
        before = (came_from[tex] if came_from is not None
                  else src.patches(rows[tex], cols[tex], half))
        ncc[tex] = _ncc(before, here)
        textured_ok[tex] = ncc[tex] >= options.min_ncc
        if pts.patch.shape[1] == here.shape[1]:  # and still like the hinted patch itself
            textured_ok[tex] &= _ncc(pts.patch[tex], here) >= options.min_ncc_hint
    match = np.where(plain, plain_ok, textured_ok)
    score = np.where(plain, -level_err / np.maximum(tol, 1e-6), ncc)
    return match, score


def _reacquire(pts: _Points, src: _View, dst: _View, rows: np.ndarray, cols: np.ndarray,
               rows2: np.ndarray, cols2: np.ndarray, plain: np.ndarray, height: int,
               width: int, options: TrackOptions) -> np.ndarray:
    """The shift (dx, dy) to the best match within ``options.search`` px, NaN for none."""
    s = options.search
    dy, dx = np.mgrid[-s:s + 1, -s:s + 1]
    centre = (dx == 0) & (dy == 0)
    dx, dy = dx[~centre].ravel(), dy[~centre].ravel()  # every candidate offset, at once
    k, n = len(dx), len(pts)
    rep = np.repeat(np.arange(n), k)
    rr = np.repeat(rows2, k) + np.tile(dy, n)
    cc = np.repeat(cols2, k) + np.tile(dx, n)
    valid = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
    came_from = src.patches(rows, cols, options.window // 2)[rep]
    m, score = _matches(pts.take(rep), src, dst, rows[rep], cols[rep],
                        np.clip(rr, 0, height - 1), np.clip(cc, 0, width - 1), plain[rep],
                        options, came_from)
    # prefer the nearer place among equal scores
    score = np.where(valid & m, score - 1e-3 * np.tile(dx * dx + dy * dy, n), -np.inf)
    score = score.reshape(n, k)
    best = score.argmax(axis=1)
    shift = np.stack([dx[best], dy[best]], axis=1).astype(np.float32)
    shift[~np.isfinite(score[np.arange(n), best])] = np.nan
    return shift


def _advect(pts: _Points, flow: np.ndarray, ok: np.ndarray | None,
            views: Callable[[], tuple[_View, _View]] | None, height: int, width: int,
            options: TrackOptions, motion: Callable[[], np.ndarray] | None = None
            ) -> tuple[_Points, _Points]:
    """Move points along ``flow`` from frame ``src`` to frame ``dst``.

    Returns ``(kept, lost)``. ``lost`` are the points to remember as ghosts (module
    docstring), at their predicted places: with views, every point whose centre left the
    picture and the plain points that struck out near its edge. ``motion()`` is the pair's overall
    motion (:func:`_global_motion`), when already known.

    Where ``ok`` (the pair's consistency mask on the source grid) is True under a point,
    the flow is followed. Where it is False, the point moves by the median flow around it
    and the analysis views decide (module docstring): kept where it still looks like its
    patch, re-acquired within ``options.search`` pixels, else struck. ``views()`` gives
    the analysis views of the source and destination frames (called only when a point is
    doubtful); without it a doubtful point is dropped at once. Points whose centre leaves
    the picture are dropped.
    """
    if len(pts) == 0:
        return pts, pts
    _check_field(flow, (height, width, 2), "flow")
    rows, cols = _pixels(pts, height, width)
    d = _sample(flow, pts.u, pts.v)
    if ok is None:
        ok_here = np.ones(len(pts), bool)
    else:
        _check_field(ok, (height, width), "consistency mask")
        ok = np.asarray(ok, bool)
        ok_here = ok[rows, cols]
    strikes = np.zeros(len(pts), np.int64)
    plain = np.zeros(len(pts), bool)
    if views is None:
        u2, v2 = pts.u + d[:, 0], pts.v + d[:, 1]
        strikes[~ok_here] = options.max_strikes  # nothing to decide from: drop
    else:
        src, dst = views()
        # plain or textured is decided once, on the hint frame: a plain surface stays one
        plain = (pts.patch.std(axis=1) <= options.plain_std if pts.patch.shape[1]
                 else src.std[rows, cols] <= options.plain_std)
        # a textured point on consistent flow follows it; the others are checked
        check = plain | ~ok_here
        idx = np.flatnonzero(check)
        alt = d.copy()  # the flow itself, a second guess for plain points
        if len(idx):
            ok_all = ok if ok is not None else np.ones((height, width), bool)
            flat = np.flatnonzero(plain)
            if len(flat):
                # undetermined flow on a plain surface: it moves with the picture's overall
                # motion, or failing that with the flow where the flow is consistent
                m = motion() if motion is not None else _global_motion(flow, ok_all, src,
                                                                         options)
                xy = np.stack([pts.u[flat], pts.v[flat]], axis=1) @ m[:, :2].T + m[:, 2]
                d[flat] = xy - np.stack([pts.u[flat], pts.v[flat]], axis=1)
        u2, v2 = pts.u + d[:, 0], pts.v + d[:, 1]
        if len(idx):
            match = _place_matches(pts, idx, u2, v2, src, dst, rows, cols, plain, height,
                                   width, options)
            second = np.flatnonzero(~match & plain[idx] & ok_here[idx])
            if len(second):
                j = idx[second]
                ua, va = pts.u[j] + alt[j, 0], pts.v[j] + alt[j, 1]
                ua_c = np.clip(ua, 0, width * (1 - 1e-6))
                va_c = np.clip(va, 0, height * (1 - 1e-6))
                m2 = _place_matches(pts, j, ua_c, va_c, src, dst, rows, cols, plain, height,
                                    width, options, compact=True)
                take = second[m2]
                u2[idx[take]], v2[idx[take]] = ua[m2], va[m2]
                match[take] = True
            # a textured point whose flow is doubtful and whose patch does not match at the
            # place the flow gives is taken for occluded, at once: re-acquiring textured
            # content (low-contrast texture above all) lands on look-alikes too often
            tex_lost = ~match & ~plain[idx]
            strikes[idx[tex_lost]] = options.max_strikes
            # re-acquire the plain points whose predicted place does not match: the best
            # match within ``search`` pixels (a place that matches is left alone: no drift)
            lost = np.flatnonzero(~match & plain[idx])
            if len(lost):
                j = idx[lost]
                r2 = np.clip(np.floor(v2[j]).astype(np.int64), 0, height - 1)
                c2 = np.clip(np.floor(u2[j]).astype(np.int64), 0, width - 1)
                found = _reacquire(pts.take(j), src, dst, rows[j], cols[j], r2, c2, plain[j],
                                   height, width, options)
                got = ~np.isnan(found[:, 0])
                match[lost[got]] = True
                u2[j[got]] += found[got, 0]
                v2[j[got]] += found[got, 1]
            strikes[idx] = np.where(match, 0, np.maximum(strikes[idx], pts.strikes[idx] + 1))
    inside = (u2 >= 0) & (u2 < width) & (v2 >= 0) & (v2 < height)
    keep = inside & (strikes < options.max_strikes)
    moved = _Points(u2.astype(np.float32), v2.astype(np.float32), pts.ab, pts.size, pts.origin,
                    strikes, pts.ref, pts.patch)
    # content that left the picture may come back. A plain point that stopped matching
    # near the picture's edge is taken to be leaving too (the gate's edge and vignetting
    # change its look first); in the interior it was covered, and a plain look-alike near
    # its place is weak evidence (measured: bmx-trees film -0.17 dB when those were looked
    # for too). A textured point judged occluded is not remembered either
    margin = options.reid_radius * min(height, width)
    edge = np.minimum(np.minimum(u2, width - u2), np.minimum(v2, height - v2)) < margin
    ghost = ~keep & (views is not None) & (~inside | (plain & edge)) \
        if options.reid_radius > 0 else np.zeros(len(pts), bool)
    return moved.take(keep), moved.take(ghost)


def _place_matches(pts: _Points, idx: np.ndarray, u2: np.ndarray, v2: np.ndarray, src: _View,
                   dst: _View, rows: np.ndarray, cols: np.ndarray, plain: np.ndarray,
                   height: int, width: int, options: TrackOptions,
                   compact: bool = False) -> np.ndarray:
    """Whether points ``idx`` land on a matching place.

    ``u2, v2`` are indexed like ``pts``, or like ``idx`` when ``compact``.
    """
    uu, vv = (u2, v2) if compact else (u2[idx], v2[idx])
    r2 = np.clip(np.floor(vv).astype(np.int64), 0, height - 1)
    c2 = np.clip(np.floor(uu).astype(np.int64), 0, width - 1)
    return _matches(pts.take(idx), src, dst, rows[idx], cols[idx], r2, c2, plain[idx],
                    options)[0]


def _global_motion(flow: np.ndarray, ok: np.ndarray, src: _View,
                   options: TrackOptions) -> np.ndarray:
    """The picture's overall motion as a 2x3 similarity.

    RANSAC on consistent textured pixels; the median flow when there are too few of them.
    """
    h, w = ok.shape
    step = max(2, min(h, w) // 48)
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    good = ok[ys, xs] & (src.std[ys, xs] > options.plain_std)
    m = np.zeros((2, 3), np.float64)
    m[0, 0] = m[1, 1] = 1.0
    if good.sum() >= 30:
        p = np.stack([xs[good] + 0.5, ys[good] + 0.5], axis=1).astype(np.float32)
        q = p + flow[ys[good], xs[good]]
        est, _ = cv2.estimateAffinePartial2D(p, q, method=cv2.RANSAC,
                                             ransacReprojThreshold=1.0)
        if est is not None:
            return est
    m[:, 2] = np.median(flow.reshape(-1, 2), axis=0)
    return m


def _check_field(a: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    if tuple(a.shape) != shape:
        raise HintError(f"{name} has shape {tuple(a.shape)}; expected {shape} (the working "
                        "resolution)", field=name)


def _coverage(pts: _Points, scribble_on: np.ndarray | None, height: int, width: int,
              radius: int) -> np.ndarray:
    """Pixels within ``radius`` of the points' patches (and scribble pixels)."""
    cover = np.zeros((height, width), np.uint8)
    for u, v, size in zip(pts.u, pts.v, pts.size, strict=True):
        p = HintPoint(float(u) / width, float(v) / height, (0.0, 0.0),
                      None if np.isnan(size) else float(size))
        top, bottom, left, right = patch_bounds(p, height, width)
        cover[top:bottom, left:right] = 1
    if scribble_on is not None:
        cover |= scribble_on.astype(np.uint8)
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        cover = cv2.dilate(cover, kernel)
    return cover.astype(bool)


def _pixels(pts: _Points, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.clip(np.floor(pts.v).astype(np.int64), 0, height - 1)
    cols = np.clip(np.floor(pts.u).astype(np.int64), 0, width - 1)
    return rows, cols


def _sweep(order: Sequence[int], hints: Mapping[int, FrameHints], own: Mapping[int, _Points],
           covers: Mapping[int, np.ndarray], step_flow, chain: BrightnessChain | None,
           height: int, width: int, options: TrackOptions) -> dict[int, _Points]:
    """Carry points along ``order`` (ascending = forwards). Returns arrivals per frame.

    With a ``chain``, a hint frame's refs are put on its brightness scale as they join.
    """
    arrivals: dict[int, _Points] = {}
    carried = _Points.empty()
    ghosts = _Points.empty()  # lost points, moved with the picture, looked for again
    for k, t in enumerate(order):
        if t in hints:
            if len(carried):
                rows, cols = _pixels(carried, height, width)
                carried = carried.take(~covers[t][rows, cols])
            if len(ghosts):
                rows, cols = _pixels(ghosts, height, width)
                inside = (ghosts.u >= 0) & (ghosts.u < width) & (ghosts.v >= 0) & \
                    (ghosts.v < height)
                ghosts = ghosts.take(~(inside & covers[t][rows, cols]))
            arrivals[t] = carried.take(carried.strikes == 0)
            joining = own[t]
            if chain is not None and len(joining):
                joining = replace(joining, ref=joining.ref * np.float32(chain.scale(t)))
            carried = carried.concat(joining)
        else:
            arrivals[t] = carried.take(carried.strikes == 0)  # a struck point is not painted
        if k + 1 < len(order):
            carried, ghosts = step_flow(t, carried, ghosts)
    return arrivals


def _step(carried: _Points, ghosts: _Points, flow: np.ndarray, ok: np.ndarray | None,
          views: Callable[[], tuple[_View, _View]] | None, height: int, width: int,
          options: TrackOptions) -> tuple[_Points, _Points]:
    """One frame pair: carry the tracked points, move the ghosts, re-identify ghosts."""
    if views is None:
        return _advect(carried, flow, ok, None, height, width, options)[0], ghosts
    cache: list[np.ndarray] = []

    def motion() -> np.ndarray:
        if not cache:
            src = views()[0]
            ok_all = np.ones((height, width), bool) if ok is None else np.asarray(ok, bool)
            cache.append(_global_motion(flow, ok_all, src, options))
        return cache[0]

    kept, lost = _advect(carried, flow, ok, views, height, width, options, motion)
    if options.relay_reach > 0 and len(lost):
        kept = kept.concat(_relay(lost, kept, views()[1], options))
    if len(ghosts):
        _check_field(flow, (height, width, 2), "flow")
        m = motion()
        xy = np.stack([ghosts.u, ghosts.v], axis=1) @ m[:, :2].T + m[:, 2]
        ghosts.u, ghosts.v = xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32)
    ghosts = ghosts.concat(lost)
    if len(ghosts) == 0:
        return kept, ghosts
    ghosts.lost = ghosts.lost + 1
    revived, ghosts = _haunt(ghosts, views()[1], height, width, options)
    return kept.concat(revived), ghosts


def _relay(lost: _Points, kept: _Points, dst: _View, options: TrackOptions) -> _Points:
    """New points on the surfaces that the plain points in ``lost`` just left."""
    if lost.patch.shape[1] == 0:
        return _Points.empty()
    leaving = lost.take(lost.patch.std(axis=1) <= options.plain_std)
    if len(leaving) == 0:
        return leaving
    u, v, found = relay_places(
        dst, leaving.u, leaving.v, leaving.ref, leaving.ab, kept.u, kept.v, kept.ab,
        window=options.window, plain_max_std=2 * options.plain_std,
        level_tolerance=options.level_tolerance * options.relay_tolerance,
        level_floor=options.level_floor * options.relay_tolerance,
        reach=options.relay_reach, same_color=options.relay_same_color)
    relays = leaving.take(found)
    relays.u, relays.v = u[found], v[found]
    return _tracked_afresh(relays)


def _tracked_afresh(pts: _Points) -> _Points:
    """Points that start being tracked and painted from here (no strikes, not lost)."""
    pts.strikes = np.zeros(len(pts), np.int64)
    pts.lost = np.zeros(len(pts), np.int64)
    pts.seen = np.zeros(len(pts), np.int64)
    return pts


def _haunt(ghosts: _Points, dst: _View, height: int, width: int,
           options: TrackOptions) -> tuple[_Points, _Points]:
    """Look for the ghosts' hinted patches near their predicted places on ``dst``.

    Returns ``(revived, ghosts)``: the points found on ``reid_confirm`` frames in a row
    (tracked again from here, at the place found), and the rest.
    """
    short = min(height, width)
    radius = np.minimum(options.search + options.reid_growth * short * ghosts.lost,
                        options.reid_radius * short)
    plain = ghosts.patch.std(axis=1) <= options.plain_std if ghosts.patch.shape[1] \
        else np.ones(len(ghosts), bool)
    u, v, found = reidentify(
        dst, Wanted(ghosts.u, ghosts.v, np.floor(radius).astype(np.int64), ghosts.patch,
                    ghosts.ref, plain),
        window=options.window, plain_max_std=options.plain_std,
        textured_min_std=options.plain_std,
        level_tolerance=options.level_tolerance, level_floor=options.level_floor,
        min_ncc=options.reid_ncc)
    ghosts.u = np.where(found, u, ghosts.u).astype(np.float32)
    ghosts.v = np.where(found, v, ghosts.v).astype(np.float32)
    ghosts.seen = np.where(found, ghosts.seen + 1, 0)
    back = ghosts.seen >= options.reid_confirm
    return _tracked_afresh(ghosts.take(back)), ghosts.take(~back)


def track_hints(
    start: int,
    stop: int,
    hints: Mapping[int, FrameHints],
    flows: ShotFlows,
    height: int,
    width: int,
    options: TrackOptions = TrackOptions(),
    luma: Sequence[np.ndarray] | None = None,
    view_cache: MutableMapping[int, object] | None = None,
) -> list[FrameHints]:
    """Carry a shot's hints to every frame of the shot.

    Args:
        start: first frame index of the shot.
        stop: one past the last frame index of the shot.
        hints: hint frame index -> :class:`FrameHints`, for the hint frames inside
            ``[start, stop)`` (others are ignored).
        flows: the shot's forward/backward flows and consistency masks (:class:`ShotFlows`)
            at ``height`` x ``width``.
        height: working-resolution height of the flows.
        width: working-resolution width of the flows.
        options: tuning.
        luma: the shot's frames ``start .. stop - 1`` as ``(height, width)`` uint8 luma at
            the working resolution (a lazy sequence is fine: an item is read only when a
            point under it is doubtful or a lost point is looked for, and kept for one
            step), the frames the flows were computed on. It is only looked at
            (smoothed copies decide whether a doubtful point still sits on its content,
            and where a lost point's content is seen again); without it, a point is
            dropped at the first pair whose consistency mask is False under it, and a
            lost point is not looked for again.
        view_cache: the smoothed analysis copies of the luma by frame index, kept by a
            caller that tracks through the same frames again (a live preview: each hint
            change tracks anew). It only saves work; results are the same. Default: a
            fresh cache of three frames.

    Returns:
        ``stop - start`` :class:`FrameHints`, one per frame in order. A hint frame keeps
        its own points and scribble (weight 1); every frame also gets the carried points
        of the other hint frames, with ``weight`` in (0, 1] as described in the module
        docstring. Frames no hint reaches get an empty :class:`FrameHints`.

    Raises:
        HintError: ``stop <= start``, flows or luma of the wrong count or shape.
    """
    n = stop - start
    if n <= 0:
        raise HintError(f"shot [{start}, {stop}) is empty; expected stop > start",
                        field="stop")
    for name in ("forward", "backward", "forward_ok", "backward_ok"):
        seq = getattr(flows, name)
        if seq is not None and len(seq) != n - 1:
            raise HintError(f"found {len(seq)} items; expected {n - 1} (one per frame pair)",
                            field=f"flows.{name}")
    if luma is not None and len(luma) != n:
        raise HintError(f"found {len(luma)} luma frames; expected {n} (one per frame)",
                        field="luma")
    bounded = view_cache is None
    cache: MutableMapping[int, object] = {} if view_cache is None else view_cache

    def view(t: int) -> _View:
        found = cache.get(t)
        if not isinstance(found, _View):
            gray = np.asarray(luma[t - start])
            _check_field(gray, (height, width), "luma")
            if bounded and len(cache) >= 3:
                cache.pop(next(iter(cache)))
            found = cache[t] = _View.of(gray, options)
        return found

    inside = {i: h for i, h in hints.items() if start <= i < stop}
    radius = int(round(options.override_radius * min(height, width)))
    own: dict[int, _Points] = {}
    covers: dict[int, np.ndarray] = {}
    for i, h in inside.items():
        own[i] = _hint_points(h, height, width, options.scribble_step)
        on = scribble_to_ab(h.scribble, height, width)[1] if h.scribble is not None else None
        covers[i] = _coverage(own[i], on, height, width, radius)
        if luma is not None and len(own[i]):
            rows, cols = _pixels(own[i], height, width)
            own[i].ref = view(i).relative(rows, cols).astype(np.float32)
            own[i].patch = view(i).patches(rows, cols, options.window // 2)

    def stepper(direction: int):
        """One sweep's step (``+1`` forwards, ``-1`` backwards) and its brightness chain."""
        field, masks = ((flows.forward, flows.forward_ok) if direction > 0
                        else (flows.backward, flows.backward_ok))
        chain = BrightnessChain(view) if luma is not None else None

        def step(t: int, pts: _Points, ghosts: _Points) -> tuple[_Points, _Points]:
            if len(pts) == 0 and len(ghosts) == 0:
                return pts, ghosts  # nothing to move: do not make lazy sequences load anything
            i = t - start if direction > 0 else t - 1 - start
            ok = masks[i] if masks is not None else None
            flow = field[i]  # read once: a lazy sequence may load it from disk
            views = None if chain is None else chain.views(t, t + direction, flow)
            return _step(pts, ghosts, flow, ok, views, height, width, options)

        return step, chain

    if inside:
        first, last = min(inside), max(inside)
        fwd = _sweep(range(first, stop), inside, own, covers, *stepper(+1), height, width,
                     options)
        bwd = _sweep(range(last, start - 1, -1), inside, own, covers, *stepper(-1), height,
                     width, options)
    else:
        fwd, bwd = {}, {}
    out: list[FrameHints] = []
    for t in range(start, stop):
        carried = _Points.empty()
        for part in (fwd.get(t), bwd.get(t)):
            if part is not None and len(part):
                carried = carried.concat(part)
        points = list(inside[t].points) if t in inside else []
        points += _weighted(carried, t, inside, height, width, radius)
        own_hints = inside.get(t)
        out.append(FrameHints(
            frame=t,
            points=tuple(points),
            scribble=own_hints.scribble if own_hints is not None else None,
            reference=own_hints.reference if own_hints is not None else None,
            reference_rgb=own_hints.reference_rgb if own_hints is not None else None,
            sources=own_hints.sources if own_hints is not None else (),
        ))
    return out


def _weighted(carried: _Points, t: int, inside: Mapping[int, FrameHints], height: int,
              width: int, radius: int) -> list[HintPoint]:
    """Give carried points their inverse-temporal-distance weights at frame ``t``."""
    if len(carried) == 0:
        return []
    dist = np.abs(carried.origin - t).astype(np.float64)
    inv = 1.0 / np.maximum(dist, 1.0)
    origins = np.unique(carried.origin)
    if t in inside:
        origins_all = [*origins.tolist(), t]
    else:
        origins_all = origins.tolist()
    denom = inv.copy()
    if len(origins_all) > 1:
        rows, cols = _pixels(carried, height, width)
        for o in origins_all:
            if o == t:
                continue  # the frame's own hints already removed carried points near them
            cover = _coverage(carried.take(carried.origin == o), None, height, width, radius)
            competing = cover[rows, cols] & (carried.origin != o)
            denom[competing] += 1.0 / max(abs(o - t), 1)
    weight = inv / denom
    return [
        HintPoint(x=float(u) / width, y=float(v) / height, ab=(float(ab[0]), float(ab[1])),
                  size=None if np.isnan(s) else float(s), weight=float(w))
        for u, v, ab, s, w in zip(carried.u, carried.v, carried.ab, carried.size, weight,
                                  strict=True)
    ]
