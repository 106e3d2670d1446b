"""Hints are written on the picture as it is shown; the run works on it as stored.

Phone footage is often stored sideways with a display rotation that players apply. A
person paints hints on the frame they see (an editor, ``ffmpeg`` and OpenCV all show it
rotated), so hint coordinates and scribble layers are in displayed orientation and are
turned into the stored orientation once, before tracking. Pure.

Convention (PyAV's ``frame.rotation``, FFmpeg's display matrix): a rotation of ``d``
degrees counter-clockwise means ``displayed = np.rot90(stored, d // 90)``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vidcolor.frames import displayed_image, quarter_turns
from vidcolor.hints.format import FrameHints, HintPoint

__all__ = ["displayed_image", "quarter_turns", "stored_point", "to_stored_orientation"]


def stored_point(x: float, y: float, turns: int) -> tuple[float, float]:
    """Map a hint centre from displayed to stored fractions of the frame.

    Args:
        x: fraction of the displayed width in [0, 1] (0 = left).
        y: fraction of the displayed height in [0, 1] (0 = top).
        turns: counter-clockwise quarter turns from stored to displayed.

    Returns:
        ``(x, y)`` as fractions of the stored width and height.
    """
    turns %= 4
    if turns == 1:
        return 1.0 - y, x
    if turns == 2:
        return 1.0 - x, 1.0 - y
    if turns == 3:
        return y, 1.0 - x
    return x, y


def to_stored_orientation(hints: FrameHints, turns: int) -> FrameHints:
    """One frame's hints, written on the displayed picture, mapped onto the stored one.

    Point ``size`` is a fraction of the shorter side, which a quarter turn keeps. The
    scribble layer (``(h, w, 4)`` RGBA) is turned back; the reference image is a
    palette, not a position, and is kept as is.
    """
    turns %= 4
    if turns == 0:
        return hints
    points = tuple(
        _moved(p, *stored_point(p.x, p.y, turns)) for p in hints.points
    )
    scribble = hints.scribble
    if scribble is not None:
        scribble = np.ascontiguousarray(np.rot90(scribble, -turns))
    return replace(hints, points=points, scribble=scribble)


def _moved(point: HintPoint, x: float, y: float) -> HintPoint:
    return replace(point, x=x, y=y)
