"""The vidcolor exception tree.

Every error a user can cause is a :class:`VidcolorError`. The CLI prints its message on one
line and exits with :attr:`VidcolorError.exit_code`; anything else is a bug and keeps its
traceback. Subclasses also derive from the matching builtin, as PyAV's errors do, so callers
that catch ``ValueError`` or ``OSError`` keep working.
"""

from __future__ import annotations

from pathlib import Path


class VidcolorError(Exception):
    """Base class of every error vidcolor raises on purpose.

    Args:
        message: what was wrong: the value found and the one expected.
        path: the file the error is about, if any.
        field: the field or option inside that file, if any.
    """

    exit_code = 1

    def __init__(self, message: str, *, path: str | Path | None = None, field: str | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as the CLI prints it: ``file: field: message``."""
        parts = [p for p in (self.path, self.field) if p]
        return "".join(_printable(c) for c in ": ".join([*parts, self.message]))


def _printable(char: str) -> str:
    # A file name may hold a newline or control character: escape it to keep one line.
    return char if char.isprintable() else repr(char)[1:-1]


class InputError(VidcolorError, ValueError):
    """Bad input from the user: a file, an option or an argument."""

    exit_code = 2


class HintError(InputError):
    """A hint file or hint value that breaks the hint format (HINTS_FORMAT.md)."""


class DecodeError(InputError):
    """A media file that cannot be read as video."""


class WeightsError(InputError):
    """Weights that are missing, fail their checksum, or do not fit the architecture."""


class OutputError(VidcolorError, OSError):
    """The output cannot be written (exists, no space, permissions)."""

    exit_code = 1


class ClusterError(VidcolorError):
    """A render farm could not be used, or a shot kept failing on it."""

    exit_code = 1


class Cancelled(VidcolorError):
    """The run was stopped by the user (a callback, Ctrl-C or SIGTERM)."""

    exit_code = 130
