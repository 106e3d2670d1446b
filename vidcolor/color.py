"""Color conversions shared by every stage. Pure functions, no I/O.

Conventions used throughout vidcolor (CIE L*a*b*, D65, sRGB):

* ``L`` is float32 in [0, 100].
* ``ab`` is float32, each channel in about [-128, 127].
* RGB images are uint8 ``(H, W, 3)`` in sRGB order, or float32 in [0, 1].

The NumPy versions use OpenCV (3-10x faster than kornia on the CPU); the torch versions
use kornia and are meant for the GPU.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

# Lab lightness of the sRGB gray (g, g, g) for every uint8 g: exact and a table lookup.
_GRAY_TO_L = cv2.cvtColor(
    np.repeat(np.arange(256, dtype=np.float32)[None, :, None] / 255.0, 3, axis=2), cv2.COLOR_RGB2Lab
)[0, :, 0].copy()


def gray_to_lightness(gray: np.ndarray) -> np.ndarray:
    """Lab lightness of a gray image.

    Args:
        gray: ``(H, W)`` uint8 full-range gray values.

    Returns:
        ``(H, W)`` float32 L in [0, 100].
    """
    return _GRAY_TO_L[gray]


def luma_to_lightness(luma: np.ndarray) -> np.ndarray:
    """Lab lightness of gray at full precision (10-16-bit sources).

    Args:
        luma: ``(H, W)`` float32 full-range gray in [0, 1] (sRGB-encoded, as video luma).

    Returns:
        ``(H, W)`` float32 L in [0, 100]; agrees with :func:`gray_to_lightness` at the
        8-bit codes.
    """
    g = np.clip(luma.astype(np.float32), 0.0, 1.0)
    lin = np.where(g <= 0.04045, g / 12.92, ((g + 0.055) / 1.055) ** 2.4)
    return np.where(lin > 0.008856, 116.0 * np.cbrt(lin) - 16.0, 903.3 * lin).astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert sRGB to Lab.

    Args:
        rgb: ``(H, W, 3)`` uint8 sRGB.

    Returns:
        ``(H, W, 3)`` float32 Lab: L in [0, 100], a and b in about [-128, 127].
    """
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Convert Lab to sRGB, clipping out-of-gamut colors.

    Args:
        lab: ``(H, W, 3)`` float32 Lab.

    Returns:
        ``(H, W, 3)`` uint8 sRGB.
    """
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def merge_lightness_ab(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Combine a lightness channel with chroma into sRGB.

    Args:
        lightness: ``(H, W)`` float32 L in [0, 100].
        ab: ``(H, W, 2)`` float32 chroma of the same size.

    Returns:
        ``(H, W, 3)`` uint8 sRGB.
    """
    return lab_to_rgb(np.concatenate([lightness[..., None], ab], axis=2))


def rgb_to_lab_torch(rgb: torch.Tensor) -> torch.Tensor:
    """Convert sRGB to Lab on any device (kornia).

    Args:
        rgb: ``(B, 3, H, W)`` float in [0, 1].

    Returns:
        ``(B, 3, H, W)`` Lab, L in [0, 100].
    """
    from kornia.color import rgb_to_lab as _rgb_to_lab

    return _rgb_to_lab(rgb)


def lab_to_rgb_torch(lab: torch.Tensor) -> torch.Tensor:
    """Convert Lab to sRGB on any device (kornia), clipped to [0, 1].

    Args:
        lab: ``(B, 3, H, W)`` Lab.

    Returns:
        ``(B, 3, H, W)`` float sRGB in [0, 1].
    """
    from kornia.color import lab_to_rgb as _lab_to_rgb

    return _lab_to_rgb(lab, clip=True)
