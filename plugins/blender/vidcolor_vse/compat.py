"""Shims over the Sequencer API names that changed between Blender 4.2 LTS, 4.5 LTS and 5.x.

- 4.2/4.3: ``SequenceEditor.sequences``/``sequences_all``, strips are ``bpy.types.Sequence``.
- 4.4/4.5: ``strips``/``strips_all`` and ``bpy.types.Strip``; the old names still work.
- 5.0: the old names are gone; the Sequencer may show a scene other than the active one
  (``context.sequencer_scene``).
- 5.1+: timing properties get new names (``content_start``, ``left_handle``, ...) while the
  old ones stay, deprecated, until 6.0. The getters below try the long-standing name first.

Only attribute look-ups live here, no ``import bpy``, so the rules are easy to read and test.
"""

from __future__ import annotations

import types
from typing import Any

#: Timing properties: the 4.2-5.0 name first, then the names of later versions.
_TIMING_NAMES = types.MappingProxyType(
    {
        "frame_start": ("frame_start", "content_start"),
        "frame_final_start": ("frame_final_start", "left_handle"),
        "frame_final_end": ("frame_final_end", "right_handle"),
        "frame_final_duration": ("frame_final_duration", "duration"),
        "frame_duration": ("frame_duration", "content_duration"),
        "frame_offset_start": ("frame_offset_start",),
        "frame_offset_end": ("frame_offset_end",),
        "animation_offset_start": ("animation_offset_start",),
        "animation_offset_end": ("animation_offset_end",),
    }
)


def sequencer_scene(context: Any) -> Any:
    """The scene whose Sequencer the user is editing.

    Blender 5.0 lets a workspace's Sequencer show a scene other than the active one
    (``context.sequencer_scene``); before 5.0, and when that is unset, it is ``context.scene``.
    """
    scene = getattr(context, "sequencer_scene", None)
    return scene if scene is not None else context.scene


def strip_type(bpy_types: Any) -> Any:
    """The RNA base class of strips: ``bpy.types.Strip`` (4.4+) or ``bpy.types.Sequence``."""
    strip = getattr(bpy_types, "Strip", None)
    return strip if strip is not None else bpy_types.Sequence


def top_strips(editor: Any) -> Any:
    """The top-level strip collection of a ``SequenceEditor`` (``strips`` or ``sequences``)."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def all_strips(editor: Any) -> Any:
    """Every strip, meta strip contents included (``strips_all`` or ``sequences_all``)."""
    return editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all


def meta_strips(meta: Any) -> Any:
    """The strips inside a meta strip (``strips`` or ``sequences``)."""
    return meta.strips if hasattr(meta, "strips") else meta.sequences


def container_of(editor: Any, strip: Any) -> Any:
    """The collection that holds ``strip``: its meta strip's contents, or the top level."""
    parent = strip.parent_meta() if hasattr(strip, "parent_meta") else None
    return meta_strips(parent) if parent is not None else top_strips(editor)


def new_movie(collection: Any, *, name: str, filepath: str, channel: int, frame_start: int) -> Any:
    """Add a movie strip through the data API (``new_movie`` exists under both names)."""
    return collection.new_movie(
        name=name, filepath=filepath, channel=channel, frame_start=int(frame_start)
    )


def get_timing(strip: Any, name: str) -> float:
    """Read a timing property by its 4.2-5.0 name, whatever this Blender calls it.

    Args:
        strip: a strip.
        name: a key of the timing table, e.g. ``"frame_final_start"``.

    Returns:
        The value in timeline frames.

    Raises:
        AttributeError: no known spelling of ``name`` exists on this strip.
    """
    for attr in _TIMING_NAMES[name]:
        if hasattr(strip, attr):
            return getattr(strip, attr)
    raise AttributeError(f"strip {strip.name!r}: no property {name} (tried {_TIMING_NAMES[name]})")


def set_timing(strip: Any, name: str, value: float) -> None:
    """Write a timing property by its 4.2-5.0 name (see :func:`get_timing`)."""
    for attr in _TIMING_NAMES[name]:
        if hasattr(strip, attr):
            setattr(strip, attr, value)
            return
    raise AttributeError(f"strip {strip.name!r}: no property {name} (tried {_TIMING_NAMES[name]})")


def scene_fps(scene: Any) -> float:
    """The scene's frame rate in frames per second (``fps / fps_base``)."""
    render = scene.render
    return float(render.fps) / float(render.fps_base or 1.0)
