"""Write-then-rename files: a destination is either complete or untouched.

The one atomic writer of vidcolor (shared core). Every file vidcolor writes (video, image,
hint template, work-folder state, weights, registry index, training checkpoint) is written
to a hidden temp file in the destination's own directory (same filesystem, so the final
rename is atomic), flushed to disk, and renamed over the destination only when it is
complete. Any exception, cancellation or Ctrl-C removes the temp file. A SIGKILL can leave a temp
file behind; its name (``.<name>.vidcolor-tmp-<random><suffix>``) lets :func:`stale_temp_files` find
it.

The input is protected: a destination that is (or links to) one of the inputs is
refused, and an existing destination is refused unless ``overwrite`` is set.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vidcolor.errors import InputError, OutputError

TEMP_MARK = ".vidcolor-tmp-"

# errno values that mean "the disk (or quota, or file size limit) is full".
NO_SPACE_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if e is not None
)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file (symlinks and hard links included)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output_path(
    dst: str | Path, *, inputs: Iterable[str | Path] = (), overwrite: bool = False
) -> Path:
    """Refuse a destination that would damage an input or an existing file.

    Args:
        dst: the file to be written.
        inputs: files the run reads; ``dst`` may be none of them.
        overwrite: allow replacing an existing ``dst`` (never an input).

    Returns:
        ``dst`` as an absolute Path.

    Raises:
        InputError: ``dst`` is one of the inputs (even with ``overwrite``), exists and
            ``overwrite`` is False, is a directory, or its folder is missing (exit code 2).
        OutputError: its folder is not writable (exit code 1).
    """
    dst = Path(dst).absolute()
    for src in inputs:
        if same_file(src, dst):
            raise InputError(
                f"output is the input file {src} (expected a different output path; "
                "vidcolor never writes over its input)",
                path=dst,
                field="output",
            )
    if dst.is_dir():
        raise InputError("the output is a directory; expected a file path", path=dst)
    if dst.exists() and not overwrite:
        # A usage error like any other bad argument (exit code 2), for every kind of output.
        raise InputError("the output file exists; expected a new path, or --overwrite",
                         path=dst)
    parent = dst.parent
    if not parent.is_dir():
        raise InputError(f"directory {parent} does not exist; expected an existing folder",
                         path=dst)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"directory {parent} is not writable", path=dst)
    return dst


def temp_path_for(dst: str | Path) -> Path:
    """Create (empty) and return a unique temp file beside ``dst``, same suffix."""
    dst = Path(dst)
    fd, name = tempfile.mkstemp(
        prefix=f".{dst.stem}{TEMP_MARK}", suffix=dst.suffix, dir=str(dst.parent)
    )
    os.close(fd)
    return Path(name)


def stale_temp_files(dst: str | Path) -> list[Path]:
    """Temp files a killed run left beside ``dst`` (safe to delete when no run is active)."""
    dst = Path(dst)
    return sorted(dst.parent.glob(f".{dst.stem}{TEMP_MARK}*{dst.suffix}"))


def no_space_error(exc: BaseException) -> bool:
    """Whether ``exc`` (an OSError or a PyAV error) means the disk is full."""
    return getattr(exc, "errno", None) in NO_SPACE_ERRNOS


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def commit_temp(tmp: Path, dst: Path, *, overwrite: bool) -> None:
    """Flush ``tmp`` to disk and rename it to ``dst``; without overwrite never clobber.

    Raises:
        OutputError: ``dst`` appeared meanwhile (no overwrite), or the rename failed.
    """
    try:
        # mkstemp creates 0600; a finished output gets the mode any new file would get.
        os.chmod(tmp, 0o666 & ~_current_umask())
        _fsync(tmp)
        if overwrite:
            os.replace(tmp, dst)
        else:
            try:
                os.link(tmp, dst)  # fails if dst exists: no race with another writer
            except FileExistsError:
                raise OutputError(
                    "appeared while writing (expected a new file; pass --overwrite)",
                    path=dst,
                ) from None
            except OSError:  # filesystems without hard links
                if dst.exists():
                    raise OutputError(
                        "appeared while writing (expected a new file; pass --overwrite)",
                        path=dst,
                    ) from None
                os.replace(tmp, dst)
            _remove(tmp)
        try:
            _fsync(dst.parent)
        except OSError:
            pass
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot move the finished file into place: {exc}", path=dst) from exc


@contextmanager
def atomic_output(
    dst: str | Path, *, overwrite: bool = False, inputs: Iterable[str | Path] = ()
) -> Iterator[Path]:
    """Yield a temp path to write; on success it becomes ``dst``, on any error it vanishes.

    Args:
        dst: the final file.
        overwrite: allow replacing an existing ``dst``.
        inputs: files that must never be written over.

    Yields:
        The temp file's path (already created, empty, same suffix as ``dst``).

    Raises:
        InputError, OutputError: see :func:`check_output_path`; OutputError also when the
            disk fills up (the temp file is removed first).
    """
    dst = check_output_path(dst, inputs=inputs, overwrite=overwrite)
    tmp = temp_path_for(dst)
    try:
        yield tmp
    except BaseException as exc:
        _remove(tmp)
        if no_space_error(exc) and not isinstance(exc, OutputError):
            raise OutputError(
                f"no space left while writing ({os.strerror(exc.errno)}); the partial file was "
                "removed (expected free disk space for the output)",
                path=dst,
            ) from exc
        raise
    try:
        commit_temp(tmp, dst, overwrite=overwrite)
    except BaseException:
        _remove(tmp)
        raise


def write_bytes(dst: str | Path, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``dst`` atomically (temp file, fsync, rename), with normal permissions.

    Args:
        dst: the final file; its folder must exist.
        data: the whole content.
        overwrite: replace an existing ``dst`` (the default for state files); when False an
            existing ``dst`` is an :class:`~vidcolor.errors.OutputError`.

    Returns:
        ``dst`` as an absolute Path.
    """
    with atomic_output(dst, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(dst).absolute()


def write_json(dst: str | Path, data: object, *, overwrite: bool = True) -> Path:
    """Write ``data`` as indented JSON (sorted keys) with :func:`write_bytes`."""
    return write_bytes(dst, json.dumps(data, indent=1, sort_keys=True).encode(),
                       overwrite=overwrite)
