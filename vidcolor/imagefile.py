"""Reading still images without trusting them (shared by ``io`` and ``hints``).

Pillow parses only the header when a file is opened, so the picture size is known, and a
decompression bomb (a small file that claims a huge picture) is refused, before a single
pixel is decoded. EXIF orientation is applied, so the array is the picture as viewers show
it. Callers pick the error class: ``InputError`` for an input image, ``HintError`` for a
scribble layer or a reference still.
"""

from __future__ import annotations

import io
import re
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vidcolor.errors import InputError, VidcolorError

#: The largest picture read by default: 64 Mpixel (8K is 33 Mpixel).
MAX_PIXELS = 1 << 26
#: The largest image file read, in bytes.
MAX_FILE_BYTES = 256 << 20


def image_size(path: str | Path, *, error: type[VidcolorError] = InputError) -> tuple[int, int]:
    """The ``(width, height)`` an image file declares, reading only its header.

    Args:
        path: an image file.
        error: the exception class raised for a bad file.

    Returns:
        ``(width, height)`` in pixels, before EXIF rotation.

    Raises:
        VidcolorError: (of class ``error``) missing, not a regular file, empty, too big, or
            not an image Pillow can identify.
    """
    path = Path(path)
    _check_file(path, error)
    with _open(path, error) as img:
        return img.size


def read_image(
    path: str | Path | bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    alpha: bool | None = None,
    error: type[VidcolorError] = InputError,
    name: str | Path | None = None,
) -> np.ndarray:
    """Read an image as 8-bit RGB or RGBA, refusing decompression bombs before decoding.

    Args:
        path: a PNG, JPEG, WebP, TIFF, BMP, GIF (first frame) ... file, or such a file's
            bytes (an upload, checked before it is written anywhere).
        max_pixels: the largest ``width * height`` accepted; checked from the header.
        alpha: True for RGBA always, False for RGB always (alpha dropped), None for RGBA
            only when the file has transparency.
        error: the exception class raised for a bad file.
        name: the file named in messages when ``path`` is bytes.

    Returns:
        ``(H, W, 3)`` or ``(H, W, 4)`` uint8, EXIF orientation applied. 16-bit files are
        scaled to 8 bits.

    Raises:
        VidcolorError: (of class ``error``) missing, unreadable or not an image; or larger
            than ``max_pixels`` (a possible decompression bomb), naming the size found.
    """
    if isinstance(path, bytes):
        data, path = path, Path(name or "<bytes>")
        _check_size(len(data), path, error)
        source: Path | io.BytesIO = io.BytesIO(data)
    else:
        path = source = Path(path)
        _check_file(path, error)
    with _open(source, error, path) as img:
        width, height = img.size
        if width * height > max_pixels:
            raise error(
                f"image header says {width}x{height} = {width * height} pixels; expected at "
                f"most {max_pixels} (refused as a possible decompression bomb)",
                path=path,
            )
        try:
            img.load()
            img = ImageOps.exif_transpose(img) or img
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise error(f"the image data cannot be decoded, corrupt or truncated ({exc})",
                        path=path) from None
        has_alpha = img.mode in ("RGBA", "LA", "PA") or (
            img.mode == "P" and "transparency" in img.info
        )
        want_alpha = has_alpha if alpha is None else alpha
        rgb = _to_8bit(img).convert("RGBA" if want_alpha else "RGB")
        return np.asarray(rgb, dtype=np.uint8).copy()


def _to_8bit(img: Image.Image) -> Image.Image:
    """Scale 16/32-bit gray modes to 8 bits (Pillow's convert would clip them)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img).astype(np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(arr * (255.0 / top) + 0.5, 0, 255).astype(np.uint8))
    if img.mode == "F":
        arr = np.asarray(img)
        return Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return img


def _check_file(path: Path, error: type[VidcolorError]) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error("no such file (expected an image file)", path=path) from None
    except OSError as exc:
        raise error(f"cannot read the image: {exc.strerror or exc}", path=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise error("is a directory (expected an image file)", path=path)
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
        raise error("not a regular file (expected an image file)", path=path)
    _check_size(info.st_size, path, error)


def _check_size(size: int, path: Path, error: type[VidcolorError]) -> None:
    if size == 0:
        raise error("empty file: 0 bytes (expected an image file)", path=path)
    if size > MAX_FILE_BYTES:
        raise error(f"file is {size} bytes; expected at most {MAX_FILE_BYTES}", path=path)


def _open(source: Path | io.BytesIO, error: type[VidcolorError],
          path: Path | None = None) -> Image.Image:
    """Open lazily (header only); every failure becomes ``error`` naming ``path``."""
    path = source if path is None else path
    try:
        with warnings.catch_warnings():
            # The size is checked against our own limit, not Pillow's.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source)
    except Image.DecompressionBombError as exc:
        # Pillow refuses pictures over twice its own limit while reading the header.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{found.group(1)} pixels" if found else "too many pixels"
        raise error(f"image header says {size}; expected at most {MAX_PIXELS} (refused as a "
                    "possible decompression bomb)", path=path) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise error(
            f"not a readable image ({type(exc).__name__}: {exc}); expected PNG, JPEG, WebP, "
            "TIFF, BMP or GIF",
            path=path,
        ) from None
