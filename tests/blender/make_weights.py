"""Write seeded random weights for the vidcolor CLI; run with the main venv's Python.

The Blender tests check plumbing (subprocess, progress, strips), not color quality, so like
the rest of the suite they use random weights: a small plain SIGGRAPH17 contract at a small
working size, which colors a 64x48 test clip in about a second.

Usage: python make_weights.py OUT.safetensors
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch

from vidcolor.models import registry, weights


def write_random_weights(path: str | Path, seed: int = 0) -> Path:
    """Save seeded random weights of a small plain contract (working size 64) at ``path``."""
    base = registry.builtin_entries()[registry.DEFAULT_NAME]
    entry = dataclasses.replace(
        base, extra_inputs=0, extra=None, residual=False, width_mult=0.125, working_size=64
    )
    torch.manual_seed(seed)
    weights.save_weights(weights.build_model(entry), entry, path)
    return Path(path)


if __name__ == "__main__":
    write_random_weights(sys.argv[1])
