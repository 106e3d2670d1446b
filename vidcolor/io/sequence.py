"""Numbered image sequences (film scans) as video: finding them, and writing them.

An input sequence is a printf pattern (``scan/%06d.dpx``) or a folder of numbered images
(``scan/``). :func:`find_sequence` lists the files, takes the start number from them and
refuses a gap in the numbering, naming the first missing frame. The frames are then read
by FFmpeg's ``image2`` demuxer (:func:`open_sequence`), at the frame rate the run gives
(``--fps``, default 24): whatever the FFmpeg in PyAV decodes (PNG, TIFF, DPX, EXR, JPEG).

An output sequence (``-o out/%06d.png``, ``.tif``, ``.dpx``) is written by
:class:`SequenceWriter`, one file per frame, each atomically (``vidcolor.atomic``), with
the input's numbering (a video input counts from 0).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from vidcolor.errors import DecodeError, InputError

#: Image extensions a folder input is searched for.
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".dpx", ".exr", ".jpg", ".jpeg", ".bmp")
_PRINTF = re.compile(r"%(0?)(\d*)d")
_NUMBERED = re.compile(r"^(.*?)(\d+)(\.[A-Za-z0-9]+)$")


@dataclass(frozen=True)
class ImageSequence:
    """A numbered image sequence on disk.

    Attributes:
        pattern: the printf pattern FFmpeg reads, e.g. ``scan/%06d.dpx``.
        start: the first frame number.
        count: the number of frames (numbers ``start .. start + count - 1``, no gap).
        digits: zero padding of the numbers (0: none).
    """

    pattern: Path
    start: int
    count: int
    digits: int

    def path_of(self, number: int) -> Path:
        """The file of frame ``number``."""
        return Path(str(self.pattern) % number)

    def approx_bytes(self) -> int:
        """The sequence's size on disk, estimated from its first file."""
        return self.path_of(self.start).stat().st_size * self.count

    def identity(self) -> str:
        """A string that changes when the sequence's files change (for resume)."""
        first, last = self.path_of(self.start), self.path_of(self.start + self.count - 1)
        parts = [str(self.pattern.absolute()), str(self.start), str(self.count)]
        for p in (first, last):
            st = p.stat()
            parts.append(f"{st.st_size}|{st.st_mtime_ns}")
        return "|".join(parts)


def is_pattern(path: str | Path) -> bool:
    """Whether ``path`` is a printf frame pattern (``%06d``, ``%d``)."""
    return bool(_PRINTF.search(Path(path).name))


def find_sequence(path: str | Path) -> ImageSequence | None:
    """The image sequence ``path`` names, or None when it names a single file.

    Args:
        path: a printf pattern (``scan/%06d.dpx``) or a folder of numbered images.

    Returns:
        The :class:`ImageSequence`, or None for anything else (a video file).

    Raises:
        DecodeError: no file matches, the folder holds no numbered images, or a frame
            number is missing (the message names it).
    """
    path = Path(path)
    if is_pattern(path):
        return _from_pattern(path)
    if path.is_dir():
        return _from_folder(path)
    return None


def _from_pattern(path: Path) -> ImageSequence:
    m = _PRINTF.search(path.name)
    digits = int(m.group(2) or 0) if m.group(1) else 0
    prefix, suffix = path.name[: m.start()], path.name[m.end():]
    number = r"\d{" + str(digits) + ",}" if digits else r"\d+"
    rx = re.compile("^" + re.escape(prefix) + "(" + number + ")" + re.escape(suffix) + "$")
    folder = path.parent
    if not folder.is_dir():
        raise DecodeError(f"folder {folder} does not exist (expected a folder of numbered "
                          "images)", path=path)
    numbers = [int(g.group(1)) for g in (rx.match(n) for n in os.listdir(folder)) if g]
    if not numbers:
        raise DecodeError(f"no file matches the pattern (expected files such as "
                          f"{path.name % 1})", path=path)
    return _checked(path, sorted(numbers), digits)


def _from_folder(folder: Path) -> ImageSequence:
    groups: dict[tuple[str, str], list[str]] = {}
    for name in os.listdir(folder):
        m = _NUMBERED.match(name)
        if m is not None and m.group(3).lower() in IMAGE_EXTENSIONS:
            groups.setdefault((m.group(1), m.group(3)), []).append(m.group(2))
    if not groups:
        raise DecodeError(
            "is a directory without numbered images (expected a video file, or a folder of "
            f"images such as 000001.png: {', '.join(IMAGE_EXTENSIONS)})", path=folder)
    (prefix, suffix), texts = max(groups.items(), key=lambda kv: len(kv[1]))
    padded = any(t.startswith("0") and len(t) > 1 for t in texts)
    digits = min(len(t) for t in texts) if padded else 0
    pattern = folder / f"{prefix}{f'%0{digits}d' if digits else '%d'}{suffix}"
    return _checked(pattern, sorted(int(t) for t in texts), digits)


def _checked(pattern: Path, numbers: list[int], digits: int) -> ImageSequence:
    first, last = numbers[0], numbers[-1]
    if last - first + 1 != len(numbers):
        have = set(numbers)
        missing = next(n for n in range(first, last + 1) if n not in have)
        raise DecodeError(
            f"frame {missing} ({Path(str(pattern) % missing).name}) is missing: found "
            f"{len(numbers)} files numbered {first}..{last} (expected consecutive numbers)",
            path=pattern, field="sequence")
    return ImageSequence(pattern, first, len(numbers), digits)


def open_sequence(seq: ImageSequence, rate: Fraction | None) -> av.container.InputContainer:
    """Open a sequence with FFmpeg's image2 demuxer at ``rate`` frames per second."""
    rate = Fraction(rate) if rate else Fraction(24)
    try:
        return av.open(str(seq.pattern), "r", format="image2",
                       options={"framerate": f"{rate.numerator}/{rate.denominator}",
                                "start_number": str(seq.start)})
    except av.FFmpegError as exc:
        raise DecodeError(f"cannot read the image sequence ({exc}); expected images FFmpeg "
                          "decodes (PNG, TIFF, DPX, EXR, JPEG)", path=seq.pattern) from exc


# --------------------------------------------------------------------------- output

#: Output image extension -> (FFmpeg encoder, 8-bit pix_fmt, deep pix_fmt).
IMAGE_ENCODERS = {
    ".png": ("png", "rgb24", "rgb48be"),
    ".tif": ("tiff", "rgb24", "rgb48le"),
    ".tiff": ("tiff", "rgb24", "rgb48le"),
    ".dpx": ("dpx", "rgb24", "rgb48le"),
}


def check_sequence_output(dst: str | Path) -> str:
    """Check an output pattern's extension; returns the FFmpeg image encoder.

    Raises:
        InputError: an extension vidcolor does not write as images.
    """
    dst = Path(dst)
    suffix = dst.suffix.lower()
    if suffix not in IMAGE_ENCODERS:
        raise InputError(f"found image extension {suffix or '(none)'!r} in the output "
                         f"pattern; expected one of {', '.join(IMAGE_ENCODERS)}",
                         path=dst, field="output")
    if not dst.parent.is_dir():
        raise InputError(f"directory {dst.parent} does not exist; expected an existing folder",
                         path=dst, field="output")
    return IMAGE_ENCODERS[suffix][0]
