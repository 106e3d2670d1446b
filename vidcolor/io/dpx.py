"""The film and television headers of DPX files (SMPTE 268M): timecode and frame rate.

FFmpeg's DPX encoder writes only the generic and image headers (1664 bytes). An editor
conforms a DPX sequence by the timecode in the television header, so
:func:`with_television_header` extends a file FFmpeg wrote to the standard 2048-byte
header, with the frame's timecode, the frame rate and the interlace flag (undefined
numbers all ones, undefined text NUL, as the standard asks). :func:`read_timecode` reads
the timecode back: FFmpeg's decoder exports it only when the film header's frame rate is
set, so probing does not rely on it.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

from vidcolor.io import timecode as tc

HEADER_SIZE = 2048
_FILM, _TV = 1664, 1920  # where the film (industry) and television headers start
_TIMECODE, _USER_BITS, _INTERLACE = 1920, 1924, 1928
_FILM_RATE, _TV_RATE = 1724, 1940


def _byte_order(data: bytes) -> str | None:
    return {b"SDPX": ">", b"XPDS": "<"}.get(bytes(data[:4]))


def read_timecode(path: str | Path) -> str | None:
    """The timecode in a DPX file's television header (``"HH:MM:SS:FF"``), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(_TIMECODE + 4)
    except OSError:
        return None
    order = _byte_order(head)
    if order is None or len(head) < _TIMECODE + 4:
        return None
    (image_offset,) = struct.unpack(order + "I", head[4:8])
    if image_offset < _TIMECODE + 4:
        return None  # a short header, as FFmpeg writes: no television header
    (word,) = struct.unpack(order + "I", head[_TIMECODE:_TIMECODE + 4])
    return tc.from_bcd(word)


def with_television_header(data: bytes, timecode: str | None, rate: Fraction | None,
                           interlaced: bool = False) -> bytes:
    """``data`` (a DPX file) with a full 2048-byte header: timecode, frame rate, interlace.

    Args:
        data: a DPX file whose image data starts at or before byte 1664 (FFmpeg's).
        timecode: this frame's ``"HH:MM:SS:FF"``, or None (left undefined, all ones).
        rate: frames per second, or None (undefined).
        interlaced: the frame is 2:1 interlaced.

    Returns:
        The file's bytes: the header extended, image offset and file size updated, the
        image data unchanged.

    Raises:
        ValueError: ``data`` is not a DPX file, or its header is already longer.
    """
    order = _byte_order(data)
    if order is None:
        raise ValueError("not a DPX file (no SDPX/XPDS magic)")
    (image_offset,) = struct.unpack(order + "I", data[4:8])
    if image_offset > _FILM:
        raise ValueError(f"DPX header of {image_offset} bytes, expected at most {_FILM}")
    head = bytearray(data[:image_offset]) + bytearray(HEADER_SIZE - image_offset)
    head[1712:1732] = b"\xff" * 20  # film: frame position .. shutter angle (numbers)
    head[_TV:1972] = b"\xff" * 52  # television: timecode .. integration time (numbers)

    def put(at: int, fmt: str, value) -> None:
        head[at:at + struct.calcsize(fmt)] = struct.pack(order + fmt, value)

    put(4, "I", HEADER_SIZE)
    put(16, "I", HEADER_SIZE + len(data) - image_offset)
    put(28, "I", HEADER_SIZE - _FILM)  # the industry (film + television) header's size
    put(32, "I", 0)  # no user header
    if rate:
        put(_FILM_RATE, "f", float(rate))
        put(_TV_RATE, "f", float(rate))
    if timecode is not None:
        put(_TIMECODE, "I", tc.to_bcd(timecode))
        put(_USER_BITS, "I", 0)
    head[_INTERLACE] = 1 if interlaced else 0
    return bytes(head) + bytes(data[image_offset:])
