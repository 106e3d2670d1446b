"""Writing a hints template: frame exports to paint on, with empty point-hint files.

``vidcolor hints template INPUT -o hints/`` decodes the chosen frames (the CLI and the
run do that) and hands them here. For each frame ``N`` this writes:

* ``<N>.png``: the frame as an opaque RGB PNG (no alpha channel). :func:`load_hints`
  ignores a PNG without alpha with a warning, so an unpainted export is harmless. To
  paint hints, open it in an image editor, paint on a new transparent layer, hide the
  frame layer and export the layer as ``<N>.png`` with alpha.
* ``<N>.json``: ``{"version": 1, "frame": N, "points": []}``, ready for point hints.

File names use 6-digit zero padding (``000120.png``) so they sort in film order. Every
file is written to a temporary file in the same directory and renamed into place, so an
interruption never leaves a half-written file. Existing files are not replaced unless
``overwrite`` is set: a template never destroys a colorist's work.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from vidcolor.atomic import write_bytes
from vidcolor.errors import HintError, OutputError
from vidcolor.hints.format import FORMAT_VERSION


def template_json(frame: int) -> str:
    """The text of an empty point-hint file for ``frame``."""
    return json.dumps({"version": FORMAT_VERSION, "frame": frame, "points": []}) + "\n"


def write_template(directory: str | Path, frames: Iterable[tuple[int, np.ndarray]], *,
                   overwrite: bool = False) -> list[Path]:
    """Write frame exports and empty hint files for a colorist to fill in.

    Args:
        directory: the hints directory; created if missing.
        frames: ``(index, rgb)`` pairs: 0-based frame index and ``(H, W, 3)`` uint8 RGB
            (or ``(H, W)`` uint8 gray) full-resolution frame.
        overwrite: replace existing ``<N>.png`` / ``<N>.json`` files. When False, an
            existing file is an error and nothing of that frame is written.

    Returns:
        The paths written, in order (PNG then JSON per frame).

    Raises:
        HintError: a bad index or image.
        OutputError: the directory or a file cannot be written, or a file exists.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the hints directory: {exc.strerror or exc}",
                          path=directory) from None
    written: list[Path] = []
    for index, image in frames:
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or index < 0:
            raise HintError(f"found {index!r}; expected a frame index (integer >= 0)",
                            field="frame")
        index = int(index)
        png = directory / f"{index:06d}.png"
        js = directory / f"{index:06d}.json"
        if not overwrite:
            for path in (png, js):
                if path.exists():
                    raise OutputError("exists; expected a new file (use overwrite to replace "
                                      "it)", path=path)
        ok, encoded = cv2.imencode(".png", _to_bgr(image, index))
        if not ok:
            raise HintError(f"frame {index} cannot be encoded as PNG", field="frame")
        try:
            write_bytes(png, encoded.tobytes())
            written.append(png)
            write_bytes(js, template_json(index).encode())
            written.append(js)
        except OSError as exc:
            raise OutputError(f"cannot write: {exc.strerror or exc}", path=png) from None
    return written


def _to_bgr(image: np.ndarray, index: int) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or not (
        image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
    ):
        found = (getattr(image, "shape", None), getattr(image, "dtype", None))
        raise HintError(f"frame {index} has shape/dtype {found}; expected (H, W, 3) or (H, W) "
                        "uint8", field="frame")
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
