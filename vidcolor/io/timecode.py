"""SMPTE timecode arithmetic and its BCD form (the DPX television header's), pure.

A timecode is ``"HH:MM:SS:FF"``; ``;`` before the frames marks drop-frame counting, used
at 30000/1001 and 60000/1001 frames per second (frame numbers 0 and 1, or 0 to 3 at 60,
are skipped at the start of every minute except each tenth, so the clock keeps up with
real time). Frames are counted at the nominal rate: 24 for 24000/1001, 30 for 30000/1001.
"""

from __future__ import annotations

import re
from fractions import Fraction

_TIMECODE = re.compile(r"^(\d{2}):(\d{2}):(\d{2})([:;.,])(\d{2})$")


def nominal_rate(rate: Fraction | float | None) -> int:
    """The frames per second a timecode counts at (24 for 23.976, 30 for 29.97); 24 if None."""
    if not rate:
        return 24
    return max(1, int(round(float(rate))))


def _drop_per_minute(fps: int) -> int:
    return 2 * (fps // 30)  # 2 at 29.97, 4 at 59.94


def parse(timecode: str) -> tuple[int, int, int, int, bool]:
    """``(hours, minutes, seconds, frames, drop_frame)`` of ``"HH:MM:SS:FF"``.

    Raises:
        ValueError: not a timecode.
    """
    m = _TIMECODE.match(str(timecode).strip())
    if m is None:
        raise ValueError(f"timecode: found {timecode!r}, expected HH:MM:SS:FF")
    h, mi, s, sep, f = m.groups()
    return int(h), int(mi), int(s), int(f), sep in ";,"


def to_frames(timecode: str, rate: Fraction | float | None) -> int:
    """The frame count since 00:00:00:00 of ``timecode`` at ``rate``."""
    h, m, s, f, drop = parse(timecode)
    fps = nominal_rate(rate)
    frames = ((h * 60 + m) * 60 + s) * fps + f
    if drop:
        minutes = h * 60 + m
        frames -= _drop_per_minute(fps) * (minutes - minutes // 10)
    return frames


def from_frames(frames: int, rate: Fraction | float | None, drop: bool = False) -> str:
    """The timecode of frame count ``frames`` at ``rate`` (wraps at 24 hours)."""
    fps = nominal_rate(rate)
    dropped = _drop_per_minute(fps) if drop else 0
    if dropped:
        per_minute = fps * 60 - dropped
        per_ten = per_minute * 10 + dropped
        tens, rest = divmod(frames, per_ten)
        frames += dropped * 9 * tens
        if rest > dropped:
            frames += dropped * ((rest - dropped) // per_minute)
    frames %= fps * 86400
    f = frames % fps
    s = frames // fps
    sep = ";" if dropped else ":"
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{sep}{f:02d}"


def offset(timecode: str, frames: int, rate: Fraction | float | None) -> str:
    """``timecode`` moved on by ``frames`` frames at ``rate`` (same counting: drop or not)."""
    drop = parse(timecode)[4] and _drop_per_minute(nominal_rate(rate)) > 0
    return from_frames(to_frames(timecode, rate) + frames, rate, drop)


def to_bcd(timecode: str) -> int:
    """The SMPTE 12M BCD word of ``timecode`` as the DPX header holds it (``0xHHMMSSFF``).

    The drop-frame flag is bit 30 (bit 6 of the frames byte).
    """
    h, m, s, f, drop = parse(timecode)

    def bcd(v: int) -> int:
        return (v // 10) << 4 | v % 10

    return bcd(h) << 24 | bcd(m) << 16 | bcd(s) << 8 | bcd(f) | (1 << 6 if drop else 0)


def from_bcd(word: int) -> str | None:
    """The timecode of a DPX BCD word (see :func:`to_bcd`); None for all ones (not set)."""
    if word == 0xFFFFFFFF:
        return None

    def num(v: int) -> int:
        return (v >> 4) * 10 + (v & 0x0F)

    sep = ";" if word & (1 << 6) else ":"
    return (f"{num(word >> 24 & 0x3F):02d}:{num(word >> 16 & 0x7F):02d}:"
            f"{num(word >> 8 & 0x7F):02d}{sep}{num(word & 0x3F):02d}")
