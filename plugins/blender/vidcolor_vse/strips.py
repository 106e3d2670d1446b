"""Timeline arithmetic for movie strips and the placement of the colorized strip.

Strips are changed only through the data API (``new_movie`` and property writes), never
``bpy.ops.sequencer``. No ``import bpy``: the functions take the Blender objects they work on.

A movie strip (Blender 4.2-5.0) shows, at timeline frame ``F`` inside its handles, frame
``animation_offset_start + (F - frame_start)`` of its file, counted from the file's first
frame (``frame_duration - 1 - (F - frame_start)`` instead of ``F - frame_start`` when
"Reverse Frames" is on). ``frame_offset_start``/``frame_offset_end`` (the handles) choose which
part of that content is visible: ``[frame_final_start, frame_final_end)``.
"""

from __future__ import annotations

import math
from typing import Any

from . import compat

MAX_CHANNEL = 128


class StripError(Exception):
    """A strip that cannot be used as asked; the message names the strip and the value."""


def require_movie(strip: Any) -> Any:
    """Return ``strip`` when it is a movie strip, else raise :class:`StripError`."""
    if strip is None:
        raise StripError("no active strip: select a movie strip in the Sequencer")
    if strip.type != "MOVIE":
        raise StripError(f"strip {strip.name!r}: type is {strip.type}, expected a MOVIE strip")
    return strip


def visible_range(strip: Any) -> tuple[int, int]:
    """The strip's visible timeline range ``[start, end)`` between its handles."""
    return (
        int(compat.get_timing(strip, "frame_final_start")),
        int(compat.get_timing(strip, "frame_final_end")),
    )


def movie_frame_at(strip: Any, timeline_frame: int) -> int:
    """The 0-based index, within the movie file, of the frame a strip shows at a timeline frame.

    Args:
        strip: a movie strip.
        timeline_frame: a frame inside the strip's handles.

    Returns:
        The frame index in presentation order of the file (what hint files are named by).

    Raises:
        StripError: the frame is outside the strip's visible range, or the strip is retimed
            (speed keys move frames in ways this mapping does not follow).
    """
    start, end = visible_range(strip)
    if not start <= timeline_frame < end:
        raise StripError(
            f"strip {strip.name!r}: frame {timeline_frame} is outside the strip "
            f"(visible from {start} to {end - 1}); move the playhead onto the strip"
        )
    if len(getattr(strip, "retiming_keys", ())) > 0:
        raise StripError(
            f"strip {strip.name!r}: has speed (retiming) keys; expected a strip at normal speed"
        )
    relative = timeline_frame - int(math.floor(compat.get_timing(strip, "frame_start")))
    if getattr(strip, "use_reverse_frames", False):
        relative = int(compat.get_timing(strip, "frame_duration")) - 1 - relative
    return int(compat.get_timing(strip, "animation_offset_start")) + relative


def channel_is_free(collection: Any, channel: int, start: int, end: int) -> bool:
    """True when no strip of ``collection`` in ``channel`` overlaps ``[start, end)``."""
    for other in collection:
        if other.channel != channel:
            continue
        other_start, other_end = visible_range(other)
        if other_start < end and start < other_end:
            return False
    return True


def free_channel_above(collection: Any, strip: Any, start: int, end: int) -> int:
    """The lowest channel above ``strip`` that is free over ``[start, end)``.

    Raises:
        StripError: every channel up to 128 is taken there.
    """
    for channel in range(strip.channel + 1, MAX_CHANNEL + 1):
        if channel_is_free(collection, channel, start, end):
            return channel
    raise StripError(
        f"strip {strip.name!r}: no free channel above {strip.channel} between frames "
        f"{start} and {end - 1}"
    )


def add_result_strip(editor: Any, source: Any, filepath: str, name: str | None = None) -> Any:
    """Add the colorized movie above ``source``, lined up with it frame for frame.

    The new strip takes the source's start, hold offsets (``animation_offset_*``), handles and
    reverse flag, so every visible frame shows the colorized version of the frame the source
    shows there. It goes on the lowest channel above the source that is free over the
    source's visible range, in the same meta strip as the source. Other strips (sound strips
    included) are not touched.

    Args:
        editor: the scene's ``SequenceEditor``.
        source: the movie strip that was colorized.
        filepath: the colorized movie (same frame count and rate as the source's file).
        name: the new strip's name; ``"<source name> color"`` when None.

    Returns:
        The new movie strip.

    Raises:
        StripError: no free channel, or the new strip does not line up (the colorized file
            has a different length than the source's file).
    """
    collection = compat.container_of(editor, source)
    start, end = visible_range(source)
    channel = free_channel_above(collection, source, start, end)
    content_start = int(math.floor(compat.get_timing(source, "frame_start")))

    # Created whole (untrimmed) on a channel that is free over its whole content, so that no
    # write below makes Blender shuffle it aside; trimmed; then moved onto ``channel``.
    length = int(compat.get_timing(source, "frame_duration")) + int(
        compat.get_timing(source, "animation_offset_start")
        + compat.get_timing(source, "animation_offset_end")
    )
    lo, hi = min(start, content_start), max(end, content_start + length)
    parking = free_channel_above(collection, source, lo, hi)
    strip = compat.new_movie(
        collection,
        name=name or f"{source.name} color",
        filepath=filepath,
        channel=parking,
        frame_start=content_start,
    )
    try:
        _line_up(strip, source)
        if strip.channel != channel:
            strip.channel = channel
        found = (strip.channel, *visible_range(strip))
        if found != (channel, start, end):
            raise StripError(
                f"strip {strip.name!r}: placed at channel {found[0]}, frames "
                f"{found[1]}-{found[2]}; expected channel {channel}, frames {start}-{end} "
                f"like {source.name!r} "
                "(does the colorized file have as many frames as the source?)"
            )
    except Exception:
        collection.remove(strip)
        raise
    return strip


def _line_up(strip: Any, source: Any) -> None:
    """Give ``strip`` the timing of ``source``: offsets, start, handles, reverse, look."""
    for name in ("animation_offset_start", "animation_offset_end"):
        compat.set_timing(strip, name, compat.get_timing(source, name))
    compat.set_timing(strip, "frame_start", compat.get_timing(source, "frame_start"))
    compat.set_timing(strip, "frame_final_start", compat.get_timing(source, "frame_final_start"))
    compat.set_timing(strip, "frame_final_end", compat.get_timing(source, "frame_final_end"))
    for flag in ("use_reverse_frames", "use_flip_x", "use_flip_y", "strobe"):
        if hasattr(source, flag) and hasattr(strip, flag):
            setattr(strip, flag, getattr(source, flag))
    for group in ("transform", "crop"):
        _copy_plain(getattr(source, group, None), getattr(strip, group, None))


def _copy_plain(src: Any, dst: Any) -> None:
    """Copy the writable plain (number/bool/enum) properties of one RNA struct to another."""
    if src is None or dst is None:
        return
    for prop in src.bl_rna.properties:
        key = prop.identifier
        plain = prop.type in ("INT", "FLOAT", "BOOLEAN", "ENUM")
        if key == "rna_type" or prop.is_readonly or not plain:
            continue
        try:
            setattr(dst, key, getattr(src, key))
        except (AttributeError, TypeError, ValueError):
            continue
