"""Shared pytest fixtures: tiny generated media (see ``tests/media.py``)."""

from __future__ import annotations

from pathlib import Path

import media  # tests/ is on sys.path (pytest's default "prepend" import mode)
import pytest


@pytest.fixture
def make_clip(tmp_path):
    """A factory: ``make_clip(name="clip.mp4", **media.make_clip kwargs) -> Path`` in tmp_path."""

    def factory(name: str = "clip.mp4", **kwargs) -> Path:
        return media.make_clip(tmp_path / name, **kwargs)

    return factory


@pytest.fixture
def clip(make_clip) -> Path:
    """A 12-frame 64x48 limited-range H.264 mp4 with moving shapes, no audio."""
    return make_clip("clip.mp4")


@pytest.fixture
def clip_with_audio(make_clip) -> Path:
    """A 12-frame 64x48 H.264 mp4 with moving shapes and an AAC track."""
    return make_clip("clip_audio.mp4", audio=True)
