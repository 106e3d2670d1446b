"""One sweep's brightness scale for matching plain patches, chained along the flow. Pure.

``hints.track`` matches a plain patch (sky, wall) by its brightness relative to its
frame's level. :class:`BrightnessChain` gives each frame of a sweep that level, so that
neither flicker nor a pan that brings in darker or brighter content changes what counts
as the same surface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Generic, TypeVar

import numpy as np

from vidcolor.hints.reid import Appearance

View = TypeVar("View", bound=Appearance)

class BrightnessChain(Generic[View]):
    """One sweep's brightness scale: each frame's level, chained pair by pair.

    A plain patch is matched by its brightness relative to its frame's level. The frame's
    mean cancels flicker but not content: a pan that brings dark content in lowers the
    mean and makes the sky look brighter than it is. The chained level is the previous
    frame's times the brightness ratio over the content both frames show
    (:func:`pair_gain`), so both cancel. Where a pair was not measured (no view was
    needed), the frame's mean stands in, with the last measured ratio to it.

    Args:
        view: the analysis view of frame ``t`` (its ``level`` is the frame's mean).
    """

    def __init__(self, view: Callable[[int], View]):
        self._view = view
        self._level: dict[int, float] = {}
        self._ratio = 1.0  # last chained level / frame mean

    def level(self, t: int) -> float:
        """Frame ``t``'s level on this chain's scale (gray levels, > 0)."""
        if t not in self._level:
            self._level[t] = self._view(t).level * self._ratio
        return self._level[t]

    def scale(self, t: int) -> float:
        """Factor taking refs relative to frame ``t``'s mean onto this chain's scale."""
        return self._view(t).level / self.level(t)

    def views(self, a: int, b: int, flow: np.ndarray) -> Callable[[], tuple[View, View]]:
        """The views of the pair ``a -> b`` with chained levels (computed once, when asked).

        ``flow`` is ``(H, W, 2)`` float32, from ``a``'s grid into ``b`` (pixels).
        """
        made: list[tuple[View, View]] = []

        def pair() -> tuple[View, View]:
            if not made:
                src, dst = self._view(a), self._view(b)
                level_a = self.level(a)
                if b not in self._level:
                    self._level[b] = level_a * pair_gain(flow, src, dst)
                    self._ratio = self._level[b] / dst.level
                made.append((replace(src, level=level_a), replace(dst, level=self._level[b])))
            return made[0]

        return pair


_MOSTLY_SHARED = 0.97  # share of a frame still in view above which it counts as all of it


def pair_gain(flow: np.ndarray, src: Appearance, dst: Appearance) -> float:
    """Brightness ratio dst / src over the content both frames show.

    ``flow`` is ``(H, W, 2)`` float32 from ``src``'s grid into ``dst`` (pixels).

    Where (nearly) the whole picture stays in view, gate weave and shake included, this is
    the ratio of the frame means, so the chain telescopes to the frame's mean (flicker
    cancels as before); where a pan brings content in or takes it out, the median ratio
    along the flow over the content both show. Frame means where the pair shares too
    little.
    """
    h, w = src.smooth.shape
    ys, xs = np.mgrid[0:h:2, 0:w:2]
    d = flow[ys, xs]
    xq = np.floor(xs + 0.5 + d[..., 0]).astype(np.int64)
    yq = np.floor(ys + 0.5 + d[..., 1]).astype(np.int64)
    shared = (xq >= 0) & (xq < w) & (yq >= 0) & (yq < h)
    if not 0.2 <= shared.mean() < _MOSTLY_SHARED:
        return dst.level / src.level
    # the median ratio: flow is wrong in places (plain areas, the edge of what comes in),
    # and a mean would let those drag the chain away
    before = np.maximum(src.smooth[ys[shared], xs[shared]], 1.0)
    return float(np.median(dst.smooth[yq[shared], xq[shared]] / before))
