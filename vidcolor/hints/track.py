"""Carrying hints through a shot by following optical flow. Pure: flows are passed in.

How it works (user-level description in ``docs/HINTS.md``):

* Every hint frame's points (and its scribble, sampled as points: one per
  ``scribble_step`` x ``scribble_step`` cell that holds scribble pixels, at those pixels'
  mean position and color) are carried forwards to the end of the shot and backwards to
  its start, one frame pair at a time, by bilinearly sampling the flow at the point.
* A point is dropped, for good, when its content is occluded (the consistency mask is
  False under it, or its own forward-backward check fails: ``|f + b|^2 > 0.01 (|f|^2 +
  |b|^2) + 0.5``, the test of ``temporal.flow.forward_backward_mask``) or when its centre
  leaves the picture. ``TrackOptions.max_strikes`` can tolerate brief doubts instead.
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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.errors import HintError
from vidcolor.hints.format import FrameHints, HintPoint
from vidcolor.hints.rasterize import patch_bounds, scribble_to_ab


@dataclass(frozen=True)
class TrackOptions:
    """Tuning of hint tracking.

    Attributes:
        override_radius: distance, as a fraction of the shorter side, within which hints
            of one hint frame compete with (or override) hints of another.
        scribble_step: side in pixels of the cells a scribble is sampled in.
        fb_alpha: relative tolerance of the point-wise forward-backward check.
        fb_beta: absolute tolerance (squared pixels) of the point-wise check.
        hard_ratio: a forward-backward error this many times the tolerance drops a point
            at once (a clear occlusion).
        max_strikes: consecutive frame pairs with a milder inconsistency (or a False
            consistency mask under the point) that drop it. 1 (the default) drops a
            point at the first doubt: on DAVIS, allowing 2-3 kept ~10% more points but
            the kept ones were on the wrong content (ab error 15-20 instead of 7-9).
    """

    override_radius: float = 0.04
    scribble_step: int = 4
    fb_alpha: float = 0.01
    fb_beta: float = 0.5
    hard_ratio: float = 4.0
    max_strikes: int = 1


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
            or None to check each point itself.
        backward_ok: on frame ``start + i + 1``'s grid
            (``forward_backward_mask(bwd, fwd)``), or None to check each point itself.
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
    strikes: np.ndarray  # int64 consecutive doubtful steps

    @staticmethod
    def empty() -> _Points:
        return _Points(np.zeros(0, np.float32), np.zeros(0, np.float32),
                       np.zeros((0, 2), np.float32), np.zeros(0, np.float32),
                       np.zeros(0, np.int64), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.u)

    def take(self, keep: np.ndarray) -> _Points:
        return _Points(self.u[keep], self.v[keep], self.ab[keep], self.size[keep],
                       self.origin[keep], self.strikes[keep])

    def concat(self, other: _Points) -> _Points:
        return _Points(*(np.concatenate([a, b]) for a, b in
                         zip(self.fields(), other.fields(), strict=True)))

    def fields(self) -> tuple[np.ndarray, ...]:
        return self.u, self.v, self.ab, self.size, self.origin, self.strikes


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


def _advect(pts: _Points, flow: np.ndarray, back: np.ndarray, ok: np.ndarray | None,
            height: int, width: int, options: TrackOptions) -> _Points:
    """Move points along ``flow``; drop the occluded ones and the ones that leave.

    Each point's forward-backward error ``|f + b|^2`` is measured against the usual
    tolerance ``fb_alpha * (|f|^2 + |b|^2) + fb_beta``. Beyond ``hard_ratio`` times the
    tolerance (an occluding edge sweeping over the point) the point is dropped at once.
    A milder failure (or the consistency mask saying False under the point) is a strike,
    and ``max_strikes`` strikes in a row drop it: real occlusions persist, flow noise on
    one frame pair does not.
    """
    if len(pts) == 0:
        return pts
    _check_field(flow, (height, width, 2), "flow")
    _check_field(back, (height, width, 2), "flow")
    d = _sample(flow, pts.u, pts.v)
    u2, v2 = pts.u + d[:, 0], pts.v + d[:, 1]
    inside = (u2 >= 0) & (u2 < width) & (v2 >= 0) & (v2 < height)
    b = _sample(back, np.clip(u2, 0, width), np.clip(v2, 0, height))
    err = ((d + b) ** 2).sum(axis=1)
    tolerance = options.fb_alpha * ((d**2).sum(axis=1) + (b**2).sum(axis=1)) + options.fb_beta
    doubtful = err > tolerance
    if ok is not None:
        _check_field(ok, (height, width), "consistency mask")
        cols = np.clip(np.floor(pts.u).astype(np.int64), 0, width - 1)
        rows = np.clip(np.floor(pts.v).astype(np.int64), 0, height - 1)
        doubtful |= ~np.asarray(ok, bool)[rows, cols]
    strikes = np.where(doubtful, pts.strikes + 1, 0)
    keep = inside & (err <= options.hard_ratio * tolerance) & (strikes < options.max_strikes)
    moved = _Points(u2.astype(np.float32), v2.astype(np.float32), pts.ab, pts.size, pts.origin,
                    strikes)
    return moved.take(keep)


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
           covers: Mapping[int, np.ndarray], step_flow, height: int, width: int,
           options: TrackOptions) -> dict[int, _Points]:
    """Carry points along ``order`` (ascending = forwards). Returns arrivals per frame."""
    arrivals: dict[int, _Points] = {}
    carried = _Points.empty()
    for k, t in enumerate(order):
        if t in hints:
            if len(carried):
                rows, cols = _pixels(carried, height, width)
                carried = carried.take(~covers[t][rows, cols])
            arrivals[t] = carried
            carried = carried.concat(own[t])
        else:
            arrivals[t] = carried
        if k + 1 < len(order):
            carried = step_flow(t, carried)
    return arrivals


def track_hints(
    start: int,
    stop: int,
    hints: Mapping[int, FrameHints],
    flows: ShotFlows,
    height: int,
    width: int,
    options: TrackOptions = TrackOptions(),
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

    Returns:
        ``stop - start`` :class:`FrameHints`, one per frame in order. A hint frame keeps
        its own points and scribble (weight 1); every frame also gets the carried points
        of the other hint frames, with ``weight`` in (0, 1] as described in the module
        docstring. Frames no hint reaches get an empty :class:`FrameHints`.

    Raises:
        HintError: ``stop <= start``, flows of the wrong count or shape.
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
    inside = {i: h for i, h in hints.items() if start <= i < stop}
    radius = int(round(options.override_radius * min(height, width)))
    own: dict[int, _Points] = {}
    covers: dict[int, np.ndarray] = {}
    for i, h in inside.items():
        own[i] = _hint_points(h, height, width, options.scribble_step)
        on = scribble_to_ab(h.scribble, height, width)[1] if h.scribble is not None else None
        covers[i] = _coverage(own[i], on, height, width, radius)

    def forward_step(t: int, pts: _Points) -> _Points:
        if len(pts) == 0:
            return pts  # nothing to move: do not make lazy flow sequences load anything
        i = t - start
        ok = flows.forward_ok[i] if flows.forward_ok is not None else None
        return _advect(pts, flows.forward[i], flows.backward[i], ok, height, width, options)

    def backward_step(t: int, pts: _Points) -> _Points:
        if len(pts) == 0:
            return pts
        i = t - 1 - start
        ok = flows.backward_ok[i] if flows.backward_ok is not None else None
        return _advect(pts, flows.backward[i], flows.forward[i], ok, height, width, options)

    if inside:
        first, last = min(inside), max(inside)
        fwd = _sweep(range(first, stop), inside, own, covers, forward_step, height, width,
                     options)
        bwd = _sweep(range(last, start - 1, -1), inside, own, covers, backward_step, height,
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
