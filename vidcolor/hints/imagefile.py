"""Reading hint images (scribble layers, reference stills) without trusting them.

The size is read from the file header before any pixel is decoded, so a decompression
bomb (a small file that claims a huge picture) is refused with a clear error instead of
exhausting memory. Supported formats: PNG, JPEG, WebP and BMP.
"""

from __future__ import annotations

import stat
import struct
from pathlib import Path

import cv2
import numpy as np

from vidcolor.errors import HintError

#: Largest picture accepted, in pixels (64 megapixels: an 8K frame is 33).
MAX_PIXELS = 1 << 26
#: Largest file accepted, in bytes.
MAX_FILE_BYTES = 256 << 20


def image_size(data: bytes, *, path: str | Path) -> tuple[int, int]:
    """Width and height of an encoded image, from its header alone.

    Args:
        data: the file's bytes.
        path: the file, for error messages.

    Returns:
        ``(width, height)`` in pixels.

    Raises:
        HintError: the format is not PNG, JPEG, WebP or BMP, or the header is broken.
    """
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            if data[12:16] != b"IHDR":
                raise HintError("broken PNG header: no IHDR chunk", path=path)
            return struct.unpack(">II", data[16:24])
        if data[:2] == b"\xff\xd8":
            return _jpeg_size(data, path)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data, path)
        if data[:2] == b"BM":
            width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)
    except struct.error:
        raise HintError("truncated image header", path=path) from None
    raise HintError(
        f"not a supported image (starts with {data[:8]!r}); expected PNG, JPEG, WebP or BMP",
        path=path,
    )


def _jpeg_size(data: bytes, path: str | Path) -> tuple[int, int]:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise HintError(f"broken JPEG header at byte {pos}", path=path)
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if length < 2:
            break
        pos += 2 + length
    raise HintError("JPEG without a frame header (SOF marker)", path=path)


def _webp_size(data: bytes, path: str | Path) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise HintError(f"unknown WebP chunk {chunk!r}", path=path)


def read_image(path: str | Path, *, alpha: bool, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as 8-bit RGB or RGBA, refusing decompression bombs.

    Args:
        path: the image file.
        alpha: keep the alpha channel. When True the result has 4 channels if the file has
            transparency, else 3 (the caller decides what a missing alpha means).
        max_pixels: the largest ``width * height`` accepted.

    Returns:
        ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, uint8.

    Raises:
        HintError: the file is missing, unreadable, too large, or not a supported image.
    """
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise HintError("not a regular file; expected an image file", path=path)
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise HintError(f"file is {size} bytes; expected at most {MAX_FILE_BYTES}", path=path)
        data = path.read_bytes()
    except OSError as exc:
        raise HintError(f"cannot read the image: {exc.strerror or exc}", path=path) from None
    width, height = image_size(data, path=path)
    if width <= 0 or height <= 0:
        raise HintError(f"image header says {width}x{height} pixels; expected a real size",
                        path=path)
    if width * height > max_pixels:
        raise HintError(
            f"image header says {width}x{height} = {width * height} pixels; expected at most "
            f"{max_pixels} (refused as a possible decompression bomb)",
            path=path,
        )
    flags = cv2.IMREAD_UNCHANGED if alpha else cv2.IMREAD_COLOR
    # OpenCV logs its own warning for a broken file on stderr; the HintError below is the
    # one message the user should see.
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    finally:
        cv2.utils.logging.setLogLevel(level)
    if image is None or image.size == 0:
        raise HintError("the image data cannot be decoded (corrupt or truncated)", path=path)
    if image.shape[0] * image.shape[1] > max_pixels:
        raise HintError("decoded image is larger than its header says", path=path)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise HintError(f"unsupported sample type {image.dtype}; expected 8 or 16 bits", path=path)
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels == 1:
        return np.ascontiguousarray(np.repeat(image, 3, axis=2))
    if channels == 2:  # gray + alpha
        gray, a = image[:, :, :1], image[:, :, 1:]
        rgb = np.repeat(gray, 3, axis=2)
        return np.ascontiguousarray(np.concatenate([rgb, a], axis=2) if alpha else rgb)
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    rgba = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return rgba if alpha else np.ascontiguousarray(rgba[:, :, :3])
