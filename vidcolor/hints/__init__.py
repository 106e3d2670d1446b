"""Hints: reading hint files, rasterizing them, carrying them through and across shots.

This stage never imports ``vidcolor.io``, ``vidcolor.models`` or ``vidcolor.temporal``:
frames, flows and images arrive as arrays from ``vidcolor.run``.
"""

from vidcolor.hints.format import (
    FrameHints,
    HintPoint,
    HintSet,
    load_hints,
    parse_hints,
    parse_hints_text,
)
from vidcolor.hints.rasterize import rasterize_hints
from vidcolor.hints.track import ShotFlows, TrackOptions, track_hints

__all__ = [
    "FrameHints",
    "HintPoint",
    "HintSet",
    "ShotFlows",
    "TrackOptions",
    "load_hints",
    "parse_hints",
    "parse_hints_text",
    "rasterize_hints",
    "track_hints",
]
