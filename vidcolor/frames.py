"""Frames travel with their time: the records passed from decode to encode."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


def quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns from the stored picture to the displayed one, 0..3.

    Args:
        rotation: display rotation in degrees counter-clockwise (PyAV's ``frame.rotation``,
            FFmpeg's display matrix; any sign). Players only show multiples of 90, so other
            angles round to the nearest one.
    """
    return int(round(rotation / 90.0)) % 4


def working_shape(height: int, width: int, size: int, multiple: int = 8) -> tuple[int, int]:
    """The working resolution of a picture: the one sizing rule of video, images and palette.

    The shorter side becomes ``size`` and both sides are rounded to multiples of
    ``multiple``. A picture smaller than that is not enlarged (its sides are only rounded):
    upsampling adds no detail for the network, only work.

    Args:
        height: full-resolution height in pixels (>= 1).
        width: full-resolution width in pixels (>= 1).
        size: the target shorter side (``ModelOptions.working_size``).
        multiple: both sides are multiples of this (the network's three 2x downsamplings).

    Returns:
        ``(h, w)``, each a positive multiple of ``multiple``.

    Example:
        >>> working_shape(1080, 1920, 256)
        (256, 456)
    """
    scale = min(1.0, size / min(height, width))
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    return h, w


def displayed_image(stored: np.ndarray, turns: int) -> np.ndarray:
    """A stored ``(H, W, ...)`` picture as players show it (a view, no copy)."""
    return np.rot90(stored, turns % 4)


@dataclass(frozen=True)
class FrameTime:
    """Where a frame sits in its stream.

    Attributes:
        index: 0-based position in presentation order.
        pts: presentation timestamp in ``time_base`` units (None if the file has none).
        time_base: seconds per pts tick.
    """

    index: int
    pts: int | None
    time_base: Fraction

    @property
    def seconds(self) -> float:
        """Presentation time in seconds (index-free; 0.0 when pts is unknown)."""
        return float(self.pts * self.time_base) if self.pts is not None else 0.0


@dataclass(frozen=True)
class ColoredFrame:
    """The read-only view of one finished frame handed to ``on_frame`` callbacks.

    Attributes:
        time: index and timestamp of the frame.
        gray: ``(H, W)`` uint8 input gray (full range), as stored in the file.
        color: ``(H, W, 3)`` uint8 sRGB output, as stored in the file.
        rotation: the video's display rotation in degrees counter-clockwise (0 for most
            files; phone video is often stored sideways). :attr:`upright` applies it.
    """

    time: FrameTime
    gray: np.ndarray
    color: np.ndarray
    rotation: int = 0

    @property
    def upright(self) -> np.ndarray:
        """``color`` as players show it: turned by the display rotation (a view, no copy)."""
        return displayed_image(self.color, quarter_turns(self.rotation))

    @property
    def index(self) -> int:
        """0-based frame index in presentation order."""
        return self.time.index

    @property
    def seconds(self) -> float:
        """Presentation time in seconds."""
        return self.time.seconds
