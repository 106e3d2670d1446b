"""Editing a hints folder file by file, with undo: what the studio writes, and how.

Every change is one or more whole files of the standard hint format
(``/work/shared/HINTS_FORMAT.md``), checked by the parser the CLI uses
(``hints.format``) before anything is written, and written atomically
(``vidcolor.atomic``), so the CLI and the Blender add-on can read the folder at any
moment. An invalid edit raises the CLI's :class:`~vidcolor.errors.HintError` and leaves
every file as it was.

Undo and redo keep the exact bytes each change replaced (or that the file was absent), so
undoing restores the folder byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vidcolor.atomic import write_bytes
from vidcolor.errors import HintError, OutputError
from vidcolor.hints.format import (
    MAX_JSON_BYTES,
    FrameHints,
    parse_hints_text,
    read_scribble,
    resolve_reference,
)
from vidcolor.imagefile import MAX_PIXELS, read_image

#: A hint file's name, as ``hints.format`` reads it.
_NAME = re.compile(r"^(\d{1,12})\.(json|png)$", re.IGNORECASE)
#: Reference images the studio accepts, by the type the page sends.
REFERENCE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}
#: Largest uploaded scribble layer or reference image, in bytes.
MAX_IMAGE_BYTES = 64 << 20


@dataclass(frozen=True)
class FileChange:
    """One file's content before and after a change (None: the file is absent)."""

    path: Path
    before: bytes | None
    after: bytes | None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"cannot read the hint file: {exc.strerror or exc}",
                          path=path) from None


def _apply(path: Path, content: bytes | None) -> None:
    if content is None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OutputError(f"cannot remove the hint file: {exc.strerror or exc}",
                              path=path) from None
    else:
        write_bytes(path, content)


class HintFolder:
    """A hints folder edited through whole-file changes, with an undo history.

    Args:
        directory: the hints folder (created if missing).
        frame_count: returns the film's frame count (or None while unknown); hint files
            past the end are refused as the CLI refuses them.
    """

    def __init__(self, directory: str | Path, frame_count: Callable[[], int | None]):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._frame_count = frame_count
        self._undo: list[tuple[FileChange, ...]] = []
        self._redo: list[tuple[FileChange, ...]] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ names

    def path_of(self, index: int, kind: str) -> Path:
        """The file the studio writes for frame ``index``: ``<index, 6 digits>.<kind>``."""
        return self.directory / f"{index:06d}.{kind}"

    def _others(self, index: int, kind: str) -> list[Path]:
        """Other files naming the same frame and kind (``7.json`` beside ``000007.json``)."""
        mine = self.path_of(index, kind).name
        out = []
        for entry in os.scandir(self.directory):
            match = _NAME.match(entry.name)
            if match and int(match.group(1)) == index and match.group(2).lower() == kind \
                    and entry.name != mine:
                out.append(Path(entry.path))
        return out

    def _check_index(self, index: int, path: Path) -> None:
        if index < 0:
            raise HintError(f"found frame {index}; expected a frame index >= 0", path=path,
                            field="frame")
        count = self._frame_count()
        if count is not None and index >= count:
            raise HintError(f"frame {index} is past the end of the video; expected "
                            f"0..{count - 1} ({count} frames)", path=path, field="frame")

    # ------------------------------------------------------------------ reading

    def frames(self) -> dict[int, dict[str, str]]:
        """``{frame: {"json": name, "png": name}}`` of the folder's hint files."""
        out: dict[int, dict[str, str]] = {}
        for entry in sorted(os.scandir(self.directory), key=lambda e: e.name):
            match = _NAME.match(entry.name)
            if match and entry.is_file():
                out.setdefault(int(match.group(1)), {})[match.group(2).lower()] = entry.name
        return out

    def read(self, index: int, kind: str) -> bytes | None:
        """The bytes of frame ``index``'s ``json`` or ``png`` hint file, or None."""
        names = self.frames().get(index, {})
        return _read(self.directory / names[kind]) if kind in names else None

    # ------------------------------------------------------------------ changes

    def _commit(self, changes: list[FileChange]) -> None:
        changes = [c for c in changes if c.before != c.after]
        if not changes:
            return
        done: list[FileChange] = []
        try:
            for change in changes:
                _apply(change.path, change.after)
                done.append(change)
        except BaseException:
            for change in reversed(done):  # leave the folder as it was
                _apply(change.path, change.before)
            raise
        self._undo.append(tuple(changes))
        self._redo.clear()

    def _replace(self, index: int, kind: str, content: bytes | None) -> None:
        target = self.path_of(index, kind)
        changes = [FileChange(p, _read(p), None) for p in self._others(index, kind)]
        changes.append(FileChange(target, _read(target), content))
        self._commit(changes)

    def put_json(self, index: int, body: bytes) -> FrameHints:
        """Check a hint file's JSON and write it as ``<index>.json``.

        Raises:
            HintError: the body breaks the hint format (the CLI's one-line message); nothing
                is written.
        """
        target = self.path_of(index, "json")
        with self._lock:
            self._check_index(index, target)
            _check_size(body, MAX_JSON_BYTES, target)
            hints = parse_hints_text(body, source=target, frame=index)
            hints = resolve_reference(hints, self.directory, target)
            self._replace(index, "json", bytes(body))
            return hints

    def put_scribble(self, index: int, png: bytes) -> None:
        """Check an RGBA PNG scribble layer and write it as ``<index>.png``.

        Raises:
            HintError: not a readable RGBA image; nothing is written.
        """
        target = self.path_of(index, "png")
        with self._lock:
            self._check_index(index, target)
            _check_size(png, MAX_IMAGE_BYTES, target)
            if not png.startswith(b"\x89PNG\r\n\x1a\n"):
                raise HintError("not a PNG file; expected an RGBA PNG scribble layer",
                                path=target)
            layer = read_scribble(target, index, data=bytes(png))
            if layer is None:
                raise HintError("a PNG without alpha; expected an RGBA scribble layer",
                                path=target)
            self._replace(index, "png", bytes(png))

    def delete(self, index: int, kind: str) -> None:
        """Remove frame ``index``'s ``json`` or ``png`` hint file(s) (undoable)."""
        with self._lock:
            self._replace(index, kind, None)

    def add_reference(self, data: bytes, content_type: str) -> str:
        """Store a reference image in the folder under a name made from its content.

        Args:
            data: the image file's bytes.
            content_type: ``image/png``, ``image/jpeg`` or ``image/webp``.

        Returns:
            The file's name in the folder (``reference_<sha256 prefix>.<ext>``), to put in a
            hint file's ``reference`` field.

        Raises:
            HintError: an unknown type, or not a readable image.
        """
        ext = REFERENCE_TYPES.get(content_type.split(";")[0].strip().lower())
        if ext is None:
            raise HintError(f"found {content_type!r}; expected one of "
                            f"{', '.join(REFERENCE_TYPES)}", field="reference")
        if len(data) > MAX_IMAGE_BYTES:
            raise HintError(f"image is {len(data)} bytes; expected at most {MAX_IMAGE_BYTES}",
                            field="reference")
        name = f"reference_{hashlib.sha256(data).hexdigest()[:16]}{ext}"
        try:
            read_image(bytes(data), alpha=False, max_pixels=MAX_PIXELS, error=HintError,
                       name=name)
        except HintError as exc:
            raise HintError(f"{exc.message}; expected a readable image",
                            field="reference") from None
        target = self.directory / name
        if not target.exists():
            write_bytes(target, data)  # content-addressed: never replaced, not in the history
        return name

    def reference_path(self, name: str) -> Path:
        """The path of a reference image the studio stored (:meth:`add_reference` names).

        Raises:
            HintError: not such a name, or no such file.
        """
        if not re.fullmatch(r"reference_[0-9a-f]{16}\.(png|jpg|webp)", name):
            raise HintError(f"found {name!r}; expected a reference image stored by the studio",
                            field="reference")
        path = self.directory / name
        if not path.is_file():
            raise HintError("no such reference image", path=path, field="reference")
        return path

    # ------------------------------------------------------------------ history

    @property
    def can_undo(self) -> bool:
        """True when there is a change to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """True when there is an undone change to redo."""
        return bool(self._redo)

    def undo(self) -> list[Path]:
        """Restore the files of the last change; returns them ([] when there is none)."""
        with self._lock:
            if not self._undo:
                return []
            changes = self._undo.pop()
            for change in reversed(changes):
                _apply(change.path, change.before)
            self._redo.append(changes)
            return [c.path for c in changes]

    def redo(self) -> list[Path]:
        """Apply the last undone change again; returns its files ([] when there is none)."""
        with self._lock:
            if not self._redo:
                return []
            changes = self._redo.pop()
            for change in changes:
                _apply(change.path, change.after)
            self._undo.append(changes)
            return [c.path for c in changes]


def _check_size(data: bytes, limit: int, target: Path) -> None:
    """Refuse an upload over ``limit`` bytes with the hint format's one-line message."""
    if len(data) > limit:
        raise HintError(f"file is {len(data)} bytes; expected at most {limit}", path=target)
