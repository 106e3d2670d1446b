"""vidcolor: colorize black-and-white film from a few color hints.

The public API (``colorize_video``, ``colorize_frames``, ``colorize_image``, ``Colorizer``)
is imported on first use, so ``import vidcolor`` stays light and the CLI can set up the
environment (``OMP_WAIT_POLICY``) before torch is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidcolor.errors import (
    Cancelled,
    DecodeError,
    HintError,
    InputError,
    OutputError,
    VidcolorError,
    WeightsError,
)
from vidcolor.frames import ColoredFrame, FrameTime

__version__ = "0.1.0"

__all__ = [
    "Cancelled",
    "ColoredFrame",
    "Colorizer",
    "DecodeError",
    "FrameTime",
    "HintError",
    "InputError",
    "OutputError",
    "RunReport",
    "VidcolorError",
    "WeightsError",
    "colorize_frames",
    "colorize_image",
    "colorize_video",
    "suggest_colors",
]

_LAZY = {
    "Colorizer": "vidcolor.api",
    "colorize_video": "vidcolor.api",
    "colorize_frames": "vidcolor.api",
    "colorize_image": "vidcolor.api",
    "suggest_colors": "vidcolor.api",
    "RunReport": "vidcolor.api",
}

if TYPE_CHECKING:
    from vidcolor.api import (
        Colorizer,
        colorize_frames,
        colorize_image,
        colorize_video,
        suggest_colors,
    )
    from vidcolor.run import RunReport


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vidcolor' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
