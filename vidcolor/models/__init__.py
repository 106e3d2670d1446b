"""The hint network: architecture, weights registry, loading, inference and palette.

Heavy submodules load on first use; ``from vidcolor.models import HintColorizer`` works.

* :mod:`vidcolor.models.siggraph17`: the SIGGRAPH17 architecture.
* :mod:`vidcolor.models.registry`: named weights and their preprocessing contract.
* :mod:`vidcolor.models.weights`: safe loading (safetensors, sha256), import, download.
* :mod:`vidcolor.models.inference`: :class:`HintColorizer`, batched CPU/CUDA inference.
* :mod:`vidcolor.models.palette`: suggested colors from the class head.
* :mod:`vidcolor.models.levin`: the Levin et al. 2004 baseline.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "HintColorizer": "vidcolor.models.inference",
    "select_device": "vidcolor.models.inference",
    "WeightsEntry": "vidcolor.models.registry",
    "get_weights": "vidcolor.models.registry",
    "list_weights": "vidcolor.models.registry",
    "load_weights": "vidcolor.models.weights",
    "import_official": "vidcolor.models.weights",
    "download_weights": "vidcolor.models.weights",
    "suggest_colors": "vidcolor.models.palette",
    "PaletteColor": "vidcolor.models.palette",
    "levin_colorize": "vidcolor.models.levin",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name from its submodule on first access."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vidcolor.models' has no attribute {name!r}")
