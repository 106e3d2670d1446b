"""Interlaced output: the field order on the encoder, and on each frame for field coding.

x264 codes fields from ``interlaced=1`` and the container's tag. ProRes codes fields
(``+ildct``) in the order each frame's top-field-first flag gives, which PyAV cannot set
on a frame: :class:`FieldMarker` passes frames through FFmpeg's ``setfield`` filter to
set it. DNxHR has no interlaced coding in FFmpeg; FFV1, x265 and VP9 code the woven
frame, and the container carries the field order.
"""

from __future__ import annotations

from fractions import Fraction

import av

from vidcolor.io.probe import FIELD_ORDERS

#: Encoders that code the two fields of an interlaced frame with ``+ildct``.
FIELD_CODING_ILDCT = ("prores_ks",)


def set_field_order(ctx, field_order: str) -> None:
    """Tag the encoder with the source's field order (``"tt"``, ``"bb"`` ...)."""
    numbers = {name: number for number, name in FIELD_ORDERS.items()}
    try:
        ctx.field_order = numbers.get(field_order, 2)
    except (AttributeError, TypeError, ValueError):
        pass  # an older PyAV without the property; x264 still codes fields


def top_first(field_order: str) -> bool:
    """Whether the first field in time is the top one (``"tt"``, ``"tb"``; unknown: yes)."""
    return field_order not in ("bb", "bt")


class FieldMarker:
    """Mark frames interlaced, top or bottom field first, for an encoder that codes fields.

    Args:
        width: picture width.
        height: picture height.
        pix_fmt: the frames' pixel format.
        time_base: the frames' time base.
        field_order: the source's (``"tt"``, ``"bb"`` ...).
    """

    def __init__(self, width: int, height: int, pix_fmt: str, time_base: Fraction,
                 field_order: str):
        self._graph = av.filter.Graph()
        src = self._graph.add_buffer(width=width, height=height, format=pix_fmt,
                                     time_base=time_base)
        mark = self._graph.add("setfield", "tff" if top_first(field_order) else "bff")
        sink = self._graph.add("buffersink")
        src.link_to(mark)
        mark.link_to(sink)
        self._graph.configure()

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        """The same picture and pts, flagged interlaced in the source's field order."""
        self._graph.push(frame)
        return self._graph.pull()
