"""Still images in and out: size-checked reading, atomic writing.

Reading goes through Pillow, which parses only the header when a file is opened, so the
picture size is known (and a decompression bomb refused) before a single pixel is
decoded. EXIF orientation is applied, so the array is the picture as viewers show it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vidcolor.errors import InputError
from vidcolor.io.atomic import atomic_output

# The largest picture read by default: 64 Mpixel (8K is 33 Mpixel).
DEFAULT_MAX_PIXELS = 1 << 26

# Output extension -> (Pillow format, save options).
IMAGE_FORMATS = {
    ".png": ("PNG", {"compress_level": 6}),
    ".jpg": ("JPEG", {"quality": 95, "subsampling": 0}),
    ".jpeg": ("JPEG", {"quality": 95, "subsampling": 0}),
    ".webp": ("WEBP", {"lossless": True}),
    ".tif": ("TIFF", {"compression": "tiff_deflate"}),
    ".tiff": ("TIFF", {"compression": "tiff_deflate"}),
    ".bmp": ("BMP", {}),
}


def image_size(path: str | Path) -> tuple[int, int]:
    """The ``(width, height)`` an image file declares, reading only its header.

    Args:
        path: an image file.

    Returns:
        ``(width, height)`` in pixels, before EXIF rotation.

    Raises:
        InputError: missing, empty or not an image Pillow can identify.
    """
    path = Path(path)
    _check_file(path)
    with _open(path) as img:
        return img.size


def read_image(
    path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, alpha: bool | None = None
) -> np.ndarray:
    """Read an image as 8-bit RGB or RGBA, refusing decompression bombs before decoding.

    Args:
        path: a PNG, JPEG, WebP, TIFF, BMP, GIF (first frame) ... file.
        max_pixels: the largest ``width * height`` accepted; checked from the header.
        alpha: True for RGBA always, False for RGB always (alpha dropped), None for RGBA
            only when the file has transparency.

    Returns:
        ``(H, W, 3)`` or ``(H, W, 4)`` uint8, EXIF orientation applied.

    Raises:
        InputError: missing, empty, unreadable or not an image; or larger than
            ``max_pixels`` (a possible decompression bomb), naming the size found.
    """
    path = Path(path)
    _check_file(path)
    with _open(path) as img:
        width, height = img.size
        if width * height > max_pixels:
            raise InputError(
                f"image is {width}x{height} = {width * height} pixels, expected at most "
                f"{max_pixels} (refused as a possible decompression bomb)",
                path=path,
            )
        try:
            img.load()
            img = ImageOps.exif_transpose(img) or img
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise InputError(f"cannot decode the image ({exc})", path=path) from exc
        has_alpha = img.mode in ("RGBA", "LA", "PA") or (
            img.mode == "P" and "transparency" in img.info
        )
        want_alpha = has_alpha if alpha is None else alpha
        img = _to_8bit(img)
        rgb = img.convert("RGBA" if want_alpha else "RGB")
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


def write_image(
    path: str | Path,
    image: np.ndarray,
    *,
    overwrite: bool = False,
    inputs: tuple[str | Path, ...] = (),
) -> Path:
    """Write an image atomically (temp file beside it, renamed when complete).

    Args:
        path: destination; the extension picks the format (.png .jpg .jpeg .webp .tif
            .tiff .bmp).
        image: ``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, uint8.
        overwrite: replace an existing file.
        inputs: files that must never be written over (the input image).

    Returns:
        ``path`` as an absolute Path.

    Raises:
        InputError: unsupported extension or array shape/dtype; ``path`` is an input.
        OutputError: ``path`` exists without overwrite, the disk is full, or the
            directory is not writable.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise InputError(
            f"unsupported image extension {suffix or '(none)'!r} (expected one of "
            f"{', '.join(IMAGE_FORMATS)})",
            path=path,
            field="output",
        )
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (
        image.ndim == 3 and image.shape[2] not in (3, 4)
    ):
        raise InputError(
            f"image array is {image.shape} {image.dtype}, expected (H, W), (H, W, 3) or "
            "(H, W, 4) uint8",
            path=path,
        )
    fmt, save_options = IMAGE_FORMATS[suffix]
    pil = Image.fromarray(np.ascontiguousarray(image))
    if fmt == "JPEG" and pil.mode == "RGBA":
        pil = pil.convert("RGB")
    with atomic_output(path, overwrite=overwrite, inputs=inputs) as tmp:
        pil.save(tmp, format=fmt, **save_options)
    return path.absolute()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("no such file (expected an image file)", path=path)
    if path.is_dir():
        raise InputError("is a directory (expected an image file)", path=path)
    if path.stat().st_size == 0:
        raise InputError("empty file: 0 bytes (expected an image file)", path=path)


def _open(path: Path) -> Image.Image:
    """Open lazily (header only); every failure becomes an InputError."""
    try:
        with warnings.catch_warnings():
            # We check the size ourselves, against our own limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise InputError(
            f"image too large ({exc}); refused as a possible decompression bomb", path=path
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(
            f"not a readable image ({type(exc).__name__}: {exc}); expected PNG, JPEG, WebP, "
            "TIFF, BMP or GIF",
            path=path,
        ) from exc
