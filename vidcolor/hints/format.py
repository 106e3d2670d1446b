"""Hint files, version 1 (``/work/shared/HINTS_FORMAT.md``; user docs in ``docs/HINTS.md``).

Three levels, named by how much I/O they do (black's habit):

* :func:`parse_hints` checks one decoded JSON value and returns :class:`FrameHints`. Pure:
  it never touches the disk and raises nothing but :class:`~vidcolor.errors.HintError`.
* :func:`parse_hints_text` does the same for the raw text or bytes of a ``.json`` file.
* :func:`load_hints` reads a whole hints directory (JSON files, PNG scribble layers and
  ``reference`` images), validating everything before any video frame is decoded.

Decisions where the format leaves room (documented for users in ``docs/HINTS.md``):

* Unknown keys (top level or in a point) are ignored with a logged warning naming the
  file and the key, so newer writers stay readable by this version.
* ``color`` names are CSS names, case-insensitive; ``"#rrggbb"`` hex is case-insensitive.
  RGB lists must hold integers (``34``, not ``34.0``); numbers must be finite; booleans
  are never numbers.
* A ``<frame>.png`` without an alpha channel (an unpainted frame export, as written by
  ``vidcolor hints template``) is ignored with a warning: it holds no scribble.
* Two files of the same kind naming one frame (``7.json`` and ``007.json``) are an error.
* ``reference`` may also be an absolute path; it must be a readable PNG/JPEG/WebP/BMP.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vidcolor.color import rgb_to_lab
from vidcolor.errors import HintError
from vidcolor.hints.colors import css_color
from vidcolor.imagefile import MAX_PIXELS, read_image

log = logging.getLogger("vidcolor.hints")

#: The hint-file format version this module reads and writes.
FORMAT_VERSION = 1
#: Largest ``.json`` hint file accepted, in bytes.
MAX_JSON_BYTES = 16 << 20

_NAME = re.compile(r"^(\d{1,12})\.(json|png)$", re.IGNORECASE)
_HEX = re.compile(r"^#([0-9a-fA-F]{6})$")
_TOP_KEYS = frozenset({"version", "frame", "points", "reference"})
_POINT_KEYS = frozenset({"x", "y", "color", "ab", "size"})


@dataclass(frozen=True)
class HintPoint:
    """One point hint: a chroma value for a small square patch of one frame.

    Attributes:
        x: centre, as a fraction of the frame width in [0, 1] (0 = left edge).
        y: centre, as a fraction of the frame height in [0, 1] (0 = top edge).
        ab: CIE Lab chroma ``(a, b)`` (D65), each in [-128, 127].
        size: side of the square patch as a fraction of the frame's shorter side, in
            (0, 1], or None for one pixel at the working resolution.
        weight: confidence in [0, 1]. 1 for a hint as written; tracking and borrowing
            lower it (the rasterizer writes it into the hint mask).
    """

    x: float
    y: float
    ab: tuple[float, float]
    size: float | None = None
    weight: float = 1.0


@dataclass(frozen=True, eq=False)
class FrameHints:
    """All hints of one frame: points, an optional scribble layer and a reference image.

    Attributes:
        frame: 0-based frame index in presentation order.
        points: the point hints.
        scribble: ``(h, w, 4)`` uint8 RGBA scribble layer at its own size, or None.
            Pixels with alpha >= 128 are hints of their RGB color.
        reference: the reference image path as written (relative to the hints
            directory), or None.
        reference_rgb: ``(h, w, 3)`` uint8 RGB pixels of the reference once loaded, or None.
        sources: the files these hints came from (for messages and reports).
    """

    frame: int
    points: tuple[HintPoint, ...] = ()
    scribble: np.ndarray | None = None
    reference: Path | None = None
    reference_rgb: np.ndarray | None = None
    sources: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        """True when the frame holds no point, no scribble pixel and no reference."""
        no_scribble = self.scribble is None or not bool((self.scribble[:, :, 3] >= 128).any())
        return not self.points and no_scribble and self.reference is None

    def combined(self, other: FrameHints) -> FrameHints:
        """Merge the hints of two files of the same frame (JSON points + PNG scribble).

        Args:
            other: hints of the same frame; its scribble/reference fill those missing here.

        Returns:
            A new :class:`FrameHints` holding both sets.
        """
        return replace(
            self,
            points=self.points + other.points,
            scribble=self.scribble if self.scribble is not None else other.scribble,
            reference=self.reference if self.reference is not None else other.reference,
            reference_rgb=(
                self.reference_rgb if self.reference_rgb is not None else other.reference_rgb
            ),
            sources=self.sources + other.sources,
        )


@dataclass(frozen=True)
class HintSet:
    """Every hint frame of a hints directory.

    Attributes:
        directory: the directory read (None when built in memory).
        frames: frame index -> :class:`FrameHints`.
        ignored: names of files in the directory that were ignored.
    """

    directory: Path | None
    frames: Mapping[int, FrameHints]
    ignored: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.frames)

    def __contains__(self, frame: object) -> bool:
        return frame in self.frames

    def __iter__(self) -> Iterator[FrameHints]:
        return (self.frames[i] for i in self.frame_indices)

    @property
    def frame_indices(self) -> tuple[int, ...]:
        """The hint frames' indices, ascending."""
        return tuple(sorted(self.frames))

    def get(self, frame: int) -> FrameHints | None:
        """The hints of one frame, or None when it is not a hint frame."""
        return self.frames.get(frame)

    def in_range(self, start: int, stop: int) -> dict[int, FrameHints]:
        """The hint frames with ``start <= index < stop`` (one shot), by index."""
        return {i: self.frames[i] for i in self.frame_indices if start <= i < stop}

    def check_frame_count(self, frame_count: int) -> None:
        """Refuse hint frames past the end of the video.

        Args:
            frame_count: number of frames in the video.

        Raises:
            HintError: naming the first file whose frame index is >= ``frame_count``.
        """
        for index in self.frame_indices:
            if index >= frame_count:
                hints = self.frames[index]
                source = hints.sources[0] if hints.sources else None
                raise HintError(
                    f"frame {index} is past the end of the video; expected 0..{frame_count - 1} "
                    f"({frame_count} frames)",
                    path=source,
                    field="frame",
                )


def _where(field_name: str, source: str | Path | None) -> dict[str, Any]:
    return {"path": source, "field": field_name}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: object, name: str, source: str | Path | None, lo: float, hi: float,
            *, lo_open: bool = False) -> float:
    lo_text = f"({lo}" if lo_open else f"[{lo}"
    expected = f"a number in {lo_text}, {hi}]"
    if not _is_number(value):
        raise HintError(f"found {_show(value)}; expected {expected}", **_where(name, source))
    if isinstance(value, float) and not math.isfinite(value):
        raise HintError(f"found {value}; expected {expected}", **_where(name, source))
    if value < lo or value > hi or (lo_open and value == lo):
        raise HintError(f"found {_show(value)}; expected {expected}", **_where(name, source))
    return float(value)


def _show(value: object, limit: int = 60) -> str:
    """A short, safe rendering of a JSON value for messages."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
        return "a huge integer"
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def color_to_ab(rgb: tuple[int, int, int]) -> tuple[float, float]:
    """The Lab chroma (D65) of an sRGB color; its lightness is dropped.

    Args:
        rgb: sRGB ``(r, g, b)``, each an int 0-255.

    Returns:
        ``(a, b)`` floats in about [-128, 127].
    """
    lab = rgb_to_lab(np.array([[rgb]], dtype=np.uint8))
    return float(lab[0, 0, 1]), float(lab[0, 0, 2])


def _parse_color(value: object, name: str, source: str | Path | None) -> tuple[float, float]:
    expected = 'expected "#rrggbb", [r, g, b] with integers 0-255, or a CSS color name'
    if isinstance(value, str):
        match = _HEX.match(value.strip())
        if match:
            code = match.group(1)
            rgb = (int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16))
            return color_to_ab(rgb)
        named = css_color(value)
        if named is None:
            raise HintError(
                f"found {_show(value)}, which is neither #rrggbb nor a CSS color name; {expected}",
                **_where(name, source),
            )
        return color_to_ab(named)
    if isinstance(value, list):
        if len(value) != 3:
            raise HintError(f"found a list of {len(value)} values; {expected}",
                            **_where(name, source))
        for i, channel in enumerate(value):
            if not (isinstance(channel, int) and not isinstance(channel, bool)
                    and 0 <= channel <= 255):
                raise HintError(f"found {_show(channel)}; expected an integer 0-255",
                                **_where(f"{name}[{i}]", source))
        return color_to_ab((value[0], value[1], value[2]))
    raise HintError(f"found {_show(value)}; {expected}", **_where(name, source))


def _parse_point(value: object, index: int, source: str | Path | None) -> HintPoint:
    name = f"points[{index}]"
    if not isinstance(value, dict):
        raise HintError(f"found {_show(value)}; expected an object with x, y and color or ab",
                        **_where(name, source))
    for key in value:
        if key not in _POINT_KEYS:
            log.warning("%s: %s: unknown key %s ignored (known: x, y, color, ab, size)",
                        source, name, _show(key))
    for axis in ("x", "y"):
        if axis not in value:
            raise HintError("missing; expected a number in [0, 1]",
                            **_where(f"{name}.{axis}", source))
    x = _number(value["x"], f"{name}.x", source, 0.0, 1.0)
    y = _number(value["y"], f"{name}.y", source, 0.0, 1.0)
    has_color, has_ab = "color" in value, "ab" in value
    if has_color == has_ab:
        found = "both color and ab" if has_color else "neither color nor ab"
        raise HintError(f"found {found}; expected exactly one of them", **_where(name, source))
    if has_color:
        ab = _parse_color(value["color"], f"{name}.color", source)
    else:
        raw = value["ab"]
        if not isinstance(raw, list) or len(raw) != 2:
            raise HintError(f"found {_show(raw)}; expected [a, b] with each in [-128, 127]",
                            **_where(f"{name}.ab", source))
        ab = (
            _number(raw[0], f"{name}.ab[0]", source, -128.0, 127.0),
            _number(raw[1], f"{name}.ab[1]", source, -128.0, 127.0),
        )
    size = None
    if "size" in value:
        size = _number(value["size"], f"{name}.size", source, 0.0, 1.0, lo_open=True)
    return HintPoint(x=x, y=y, ab=ab, size=size)


def parse_hints(data: object, *, source: str | Path | None = None,
                frame: int | None = None) -> FrameHints:
    """Validate one decoded hint JSON value. Pure: no file is read.

    Args:
        data: the value ``json.loads`` returned for a ``<frame>.json`` file (any JSON value).
        source: the file it came from, for messages.
        frame: the frame index from the file name. When given, a ``frame`` field must
            equal it. When None the ``frame`` field is required.

    Returns:
        The frame's :class:`FrameHints` (``reference`` unresolved, ``reference_rgb`` None).

    Raises:
        HintError: for anything that breaks the format, naming the source, the field
            (e.g. ``points[2].x``), the value found and what was expected. No other
            exception escapes for any JSON value.
    """
    if not isinstance(data, dict):
        raise HintError(f"found {_show(data)}; expected a JSON object with version and points",
                        path=source)
    for key in data:
        if key not in _TOP_KEYS:
            log.warning("%s: unknown key %s ignored (known: version, frame, points, reference)",
                        source, _show(key))
    if "version" not in data:
        raise HintError(f"missing; expected {FORMAT_VERSION}", **_where("version", source))
    version = data["version"]
    if not (isinstance(version, int) and not isinstance(version, bool)
            and version == FORMAT_VERSION):
        raise HintError(f"found {_show(version)}; expected {FORMAT_VERSION}",
                        **_where("version", source))
    if "frame" in data:
        found = data["frame"]
        if not (isinstance(found, int) and not isinstance(found, bool) and found >= 0):
            raise HintError(f"found {_show(found)}; expected a frame index (integer >= 0)",
                            **_where("frame", source))
        if frame is not None and found != frame:
            raise HintError(f"found {_show(found)}; expected {frame}, the index in the file name",
                            **_where("frame", source))
        frame = found
    elif frame is None:
        raise HintError("missing; expected the frame index (integer >= 0)",
                        **_where("frame", source))
    if "points" not in data:
        raise HintError("missing; expected a list of points (it may be empty)",
                        **_where("points", source))
    raw_points = data["points"]
    if not isinstance(raw_points, list):
        raise HintError(f"found {_show(raw_points)}; expected a list of points",
                        **_where("points", source))
    points = tuple(_parse_point(p, i, source) for i, p in enumerate(raw_points))
    reference = None
    if "reference" in data:
        ref = data["reference"]
        if not isinstance(ref, str) or not ref.strip() or "\x00" in ref:
            raise HintError(f"found {_show(ref)}; expected an image path relative to the "
                            "hints directory", **_where("reference", source))
        reference = Path(ref)
    return FrameHints(frame=frame, points=points, reference=reference,
                      sources=(str(source),) if source is not None else ())


def parse_hints_text(text: str | bytes, *, source: str | Path | None = None,
                     frame: int | None = None) -> FrameHints:
    """Validate the text of one ``<frame>.json`` hint file. Pure: no file is read.

    Args:
        text: the file's contents (UTF-8 bytes or str).
        source: the file it came from, for messages.
        frame: the frame index from the file name (see :func:`parse_hints`).

    Returns:
        The frame's :class:`FrameHints`.

    Raises:
        HintError: the text is not JSON, or the JSON breaks the format.
    """
    try:
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise HintError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); expected JSON",
                        path=source) from None
    except json.JSONDecodeError as exc:
        raise HintError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                        path=source) from None
    except (RecursionError, ValueError) as exc:
        raise HintError(f"invalid JSON: {type(exc).__name__}", path=source) from None
    return parse_hints(data, source=source, frame=frame)


def _read_json(path: Path, frame: int) -> FrameHints:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise HintError("not a regular file; expected a JSON hint file", path=path)
        size = info.st_size
        if size > MAX_JSON_BYTES:
            raise HintError(f"file is {size} bytes; expected at most {MAX_JSON_BYTES}", path=path)
        text = path.read_bytes()
    except OSError as exc:
        raise HintError(f"cannot read the hint file: {exc.strerror or exc}", path=path) from None
    return parse_hints_text(text, source=path, frame=frame)


def _read_scribble(path: Path, frame: int, max_pixels: int,
                   data: bytes | None = None) -> FrameHints | None:
    source = path if data is None else data
    image = read_image(source, max_pixels=max_pixels, error=HintError, name=path)
    if image.shape[2] != 4:
        log.warning("%s: PNG without an alpha channel ignored (an unpainted frame export?); "
                    "paint hints on a transparent layer and save it with alpha", path)
        return None
    return FrameHints(frame=frame, scribble=image, sources=(str(path),))


def resolve_reference(hints: FrameHints, directory: str | Path, source: str | Path, *,
                      max_pixels: int = MAX_PIXELS) -> FrameHints:
    """Load the ``reference`` image a hint file names (relative to its hints directory).

    Args:
        hints: the parsed hint file (:func:`parse_hints`).
        directory: the hints directory.
        source: the hint file, for messages.
        max_pixels: largest reference image accepted, in pixels.

    Returns:
        ``hints`` with ``reference_rgb`` filled in (unchanged without a reference).

    Raises:
        HintError: the reference is not a file, or not a readable image (bomb-checked).
    """
    if hints.reference is None:
        return hints
    directory = Path(directory)
    ref_path = directory / hints.reference
    if not ref_path.is_file():
        raise HintError(f"found {str(hints.reference)!r}, which is not a file in "
                        f"{directory}; expected a readable image", path=source,
                        field="reference")
    try:
        rgb = read_image(ref_path, alpha=False, max_pixels=max_pixels, error=HintError)
    except HintError as exc:
        raise HintError(f"{exc.one_line()}; expected a readable image", path=source,
                        field="reference") from None
    return replace(hints, reference_rgb=rgb)


def read_scribble(path: str | Path, frame: int, *, max_pixels: int = MAX_PIXELS,
                  data: bytes | None = None) -> FrameHints | None:
    """Read one ``<frame>.png`` scribble layer (RGBA, bomb-checked).

    Args:
        path: the layer file (named in messages).
        frame: its frame index.
        max_pixels: largest layer accepted, in pixels.
        data: the file's bytes, to check an upload before it is written to ``path``.

    Returns:
        Its :class:`FrameHints`, or None for a PNG without alpha (ignored with a warning).

    Raises:
        HintError: not a readable image.
    """
    return _read_scribble(Path(path), frame, max_pixels, data)


def load_hints(directory: str | Path, *, max_pixels: int = MAX_PIXELS) -> HintSet:
    """Read and validate every hint file of a hints directory.

    Everything is checked here, before any video frame is decoded: JSON syntax and fields,
    PNG scribble layers (decoded, bomb-checked) and ``reference`` images (decoded,
    bomb-checked). Files whose names are not ``<frame>.json`` / ``<frame>.png`` are
    ignored with one warning naming them (reference images are not warned about).

    Args:
        directory: the hints directory.
        max_pixels: largest scribble or reference image accepted, in pixels.

    Returns:
        The :class:`HintSet`. Call :meth:`HintSet.check_frame_count` once the frame count
        is known.

    Raises:
        HintError: the directory cannot be read, or any file in it breaks the format.
    """
    directory = Path(directory)
    try:
        if not directory.is_dir():
            raise HintError("not a directory; expected a directory of hint files",
                            path=directory)
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise HintError(f"cannot read the hints directory: {exc.strerror or exc}",
                        path=directory) from None
    json_files: dict[int, Path] = {}
    png_files: dict[int, Path] = {}
    other: list[Path] = []
    for entry in entries:
        match = _NAME.match(entry.name)
        if match is None:
            if not entry.is_dir():  # sub-folders (e.g. of reference images) are fine
                other.append(entry)
            continue
        if entry.is_dir():
            raise HintError("is a folder; expected a hint file of that name", path=entry)
        index = int(match.group(1))
        table = json_files if match.group(2).lower() == "json" else png_files
        if index in table:
            raise HintError(f"two files name frame {index}: {table[index].name} and "
                            f"{entry.name}; expected one", path=entry)
        table[index] = entry
    frames: dict[int, FrameHints] = {}
    referenced: set[str] = set()
    for index, path in json_files.items():
        hints = resolve_reference(_read_json(path, index), directory, path,
                                  max_pixels=max_pixels)
        if hints.reference is not None:
            referenced.add(os.path.realpath(directory / hints.reference))
        frames[index] = hints
    for index, path in png_files.items():
        scribble = _read_scribble(path, index, max_pixels)
        if scribble is not None:
            frames[index] = frames[index].combined(scribble) if index in frames else scribble
    ignored = tuple(p.name for p in other if os.path.realpath(p) not in referenced)
    if ignored:
        log.warning("%s: ignored files whose names are not <frame>.json or <frame>.png: %s",
                    directory, ", ".join(ignored))
    return HintSet(directory=directory, frames=dict(sorted(frames.items())), ignored=ignored)
