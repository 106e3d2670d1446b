"""Build and run vidcolor CLI commands. Plain Python: no ``bpy``, no ``torch``.

Every command is an argument list (never a shell string), so paths with spaces, quotes or
non-ASCII characters reach the CLI unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import types
from collections.abc import Mapping
from pathlib import Path

from .runner import JobError, child_env, popen_platform_kwargs

#: Device choices offered by the panel; the CLI's ``--device`` values.
DEVICES = ("auto", "cpu", "cuda")

#: Quality presets of the panel, as the CLI's ``--crf`` (lower is better).
QUALITY_CRF: Mapping[str, int] = types.MappingProxyType({"DRAFT": 23, "GOOD": 16, "BEST": 10})

#: Containers the CLI writes; other inputs get a Matroska output.
OUTPUT_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm")

_HINT_STEM = re.compile(r"^[0-9]+$")


def find_cli(configured: str = "") -> str:
    """The vidcolor program to run.

    Args:
        configured: the path from the add-on preferences; empty means "look on PATH".

    Returns:
        An absolute path to an executable file.

    Raises:
        JobError: the configured path is not an executable file, or nothing named
            ``vidcolor`` is on PATH.
    """
    if configured.strip():
        path = Path(configured.strip()).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.absolute())
        raise JobError(
            f"vidcolor program: {path} is not an executable file; expected the path of the "
            "vidcolor command (Preferences > Add-ons > VidColor)"
        )
    found = shutil.which("vidcolor")
    if found:
        return str(Path(found).absolute())
    raise JobError(
        "vidcolor program: not found on PATH; install vidcolor or set its path in "
        "Preferences > Add-ons > VidColor"
    )


def colorize_command(
    cli: str,
    source: str | os.PathLike[str],
    hints_dir: str | os.PathLike[str] | None,
    *,
    device: str = "auto",
    quality: str = "GOOD",
    temporal: bool = True,
    weights: str = "",
) -> list[str]:
    """The ``vidcolor INPUT ...`` command of a colorize job, without ``-o`` (the job adds it).

    Args:
        cli: the vidcolor program (see :func:`find_cli`).
        source: the movie file to colorize.
        hints_dir: the hints folder, or None to colorize without hints.
        device: one of :data:`DEVICES`.
        quality: a key of :data:`QUALITY_CRF`.
        temporal: run the flicker-removal stage.
        weights: a registry name or a ``.safetensors`` path; empty for the default.

    Returns:
        The argument list, program first.

    Raises:
        JobError: an unknown device or quality.
    """
    if device not in DEVICES:
        raise JobError(f"device: got {device!r}, expected one of {', '.join(DEVICES)}")
    if quality not in QUALITY_CRF:
        raise JobError(f"quality: got {quality!r}, expected one of {', '.join(QUALITY_CRF)}")
    command = [cli, str(source)]
    if hints_dir is not None:
        command += ["--keyframe-hints", str(hints_dir)]
    command += [
        "--progress", "jsonl",
        "--device", device,
        "--crf", str(QUALITY_CRF[quality]),
        "--temporal" if temporal else "--no-temporal",
        "--overwrite",
    ]  # fmt: skip
    if weights.strip():
        command += ["--weights", weights.strip()]
    return command


def template_command(
    cli: str, source: str | os.PathLike[str], out_dir: str | os.PathLike[str], frame: int
) -> list[str]:
    """The ``vidcolor hints template`` command that exports one hint frame.

    Args:
        cli: the vidcolor program.
        source: the movie file.
        out_dir: the hints folder.
        frame: the 0-based frame index within the movie file.

    Returns:
        The argument list, program first.
    """
    if frame < 0:
        raise JobError(f"frame: got {frame}, expected a frame index >= 0")
    return [cli, "hints", "template", str(source), "-o", str(out_dir), "--frames", str(frame)]


def hint_files(directory: str | os.PathLike[str], frame: int) -> list[Path]:
    """The hint files of one frame in a hints folder (any zero padding, JSON and PNG).

    Args:
        directory: the hints folder; a missing folder has no hint files.
        frame: the 0-based frame index.

    Returns:
        The matching paths, sorted.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix.lower() in (".json", ".png")
        and _HINT_STEM.match(path.stem)
        and int(path.stem) == frame
    )


def export_hint_frame(
    cli: str,
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    frame: int,
    *,
    timeout: float = 120.0,
) -> list[Path]:
    """Export one frame of a movie as ``<frame>.png`` plus an empty ``<frame>.json``.

    Runs ``vidcolor hints template`` and waits for it (one frame: seconds). Refuses to run
    when the frame already has hint files, so painted hints are never replaced.

    Args:
        cli: the vidcolor program.
        source: the movie file.
        out_dir: the hints folder; created if missing.
        frame: the 0-based frame index within the movie file.
        timeout: seconds before the export is abandoned.

    Returns:
        The hint files of that frame after the export, sorted.

    Raises:
        JobError: the frame already has hint files, the CLI failed or timed out, or it wrote
            no file for the frame.
    """
    existing = hint_files(out_dir, frame)
    if existing:
        names = ", ".join(path.name for path in existing)
        raise JobError(f"{out_dir}: frame {frame} already has hint files ({names})")
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JobError(f"{out_dir}: cannot create the hints folder ({exc.strerror})") from exc
    argv = template_command(cli, source, out_dir, frame)
    try:
        done = subprocess.run(  # noqa: S603 - argv list, never a shell
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=child_env(),
            check=False,
            **popen_platform_kwargs(),
        )
    except subprocess.TimeoutExpired as exc:
        raise JobError(f"{cli}: exporting frame {frame} took over {timeout:.0f} s") from exc
    except OSError as exc:
        raise JobError(f"{cli}: cannot run it ({exc.strerror or exc})") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise JobError(f"{cli} hints template: {reason}")
    written = hint_files(out_dir, frame)
    if not any(path.suffix.lower() == ".png" for path in written):
        raise JobError(f"{out_dir}: the CLI wrote no {frame}.png (expected the exported frame)")
    return written


def output_path(
    source: str | os.PathLike[str], out_dir: str | os.PathLike[str], label: str
) -> Path:
    """Where a colorized copy of ``source`` goes: ``<out_dir>/<stem>_<label>_color<suffix>``.

    Args:
        source: the movie file.
        out_dir: the output folder.
        label: a name that keeps outputs of different strips apart (the strip's name);
            characters other than letters, digits, ``-``, ``_`` and ``.`` become ``_``.

    Returns:
        The output path. The suffix is the source's when the CLI can write it, else ``.mkv``.
    """
    src = Path(source)
    suffix = src.suffix.lower() if src.suffix.lower() in OUTPUT_SUFFIXES else ".mkv"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "strip"
    stem = src.stem if safe == src.stem else f"{src.stem}_{safe}"
    return Path(out_dir) / f"{stem}_color{suffix}"
