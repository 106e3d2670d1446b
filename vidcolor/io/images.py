"""Still images in and out: size-checked reading (``vidcolor.imagefile``), atomic writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from vidcolor.atomic import atomic_output
from vidcolor.errors import InputError
from vidcolor.imagefile import MAX_PIXELS as DEFAULT_MAX_PIXELS
from vidcolor.imagefile import image_size, read_image

__all__ = ["DEFAULT_MAX_PIXELS", "IMAGE_FORMATS", "image_size", "read_image", "write_image"]

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
