"""Where a strip's files are: its movie, its hints folder, the colorized output."""

from __future__ import annotations

import re
from pathlib import Path

import bpy


def movie_path(strip) -> Path:
    """The absolute path of a movie strip's file (``//`` paths resolved against the .blend)."""
    library = getattr(strip.id_data, "library", None)
    return Path(bpy.path.abspath(strip.filepath, library=library)).resolve()


def hints_dir(strip) -> Path | None:
    """The strip's hints folder as an absolute path, or None when it has none set."""
    value = getattr(strip, "vidcolor_hints", "")
    if not value.strip():
        return None
    return Path(bpy.path.abspath(value)).resolve()


def default_hints_dir(strip) -> str:
    """A hints folder for a strip that has none.

    ``//vidcolor_hints/<strip>/`` beside a saved .blend (relative, so it travels with the
    file), else ``<movie stem>_hints/`` beside the movie.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", strip.name).strip("._") or "strip"
    if bpy.data.filepath:
        return f"//vidcolor_hints/{safe}/"
    movie = movie_path(strip)
    return str(movie.parent / f"{movie.stem}_hints") + "/"


def output_dir(settings, strip) -> Path:
    """The folder of colorized movies.

    The scene's setting, else ``//vidcolor/`` beside a saved .blend, else the movie's folder.
    """
    if settings.output_dir.strip():
        return Path(bpy.path.abspath(settings.output_dir)).resolve()
    if bpy.data.filepath:
        return Path(bpy.path.abspath("//vidcolor")).resolve()
    return movie_path(strip).parent
