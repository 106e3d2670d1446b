"""Edge-aware propagation of sparse chroma hints: the network's extra input.

Normalised convolution with OpenCV's fast global smoother (Min et al. 2014, an approximate
weighted-least-squares filter guided by the lightness): the hint chroma times the mask and the
mask itself are smoothed by the same edge-aware filter, and their ratio is the hints spread
over regions of similar lightness, stopping at edges. This is done at two scales, a local one
(hints stay within their region) and a global one (every pixel gets some hint color), and
blended by how much hint mass the local one brings to each pixel. The smoothed masks, on a log
scale, are the two confidence channels.

Measured on 16 training images at 256x256 with the sweep's 6x6 hints (mean PSNR, dB):
gray 24.42; Levin 2004 25.67 / 27.59 / 30.95 at N = 1 / 10 / 100 (about 1 s per image);
this propagation 25.69 / 27.54 / 30.58 (about 20 ms per image). Single-scale settings trade
N=1 against N=100 (best single: 25.69 / 27.41 / 28.30 or 24.58 / 26.61 / 30.22).

Pure functions of arrays; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vidcolor.errors import InputError

CHANNELS = 4  # propagated a, b, local confidence, global confidence


@dataclass(frozen=True)
class PropagationParams:
    """Settings of the edge-aware hint propagation.

    Attributes:
        local_lambda: regularisation of the local smoother (larger spreads further).
        local_sigma: lightness difference (8-bit guide units, L * 2.55) that stops the
            local spread.
        global_lambda: regularisation of the global smoother.
        global_sigma: edge sigma of the global smoother.
        blend_mass: local hint mass at which the local and global estimates weigh equally.
        floor: hint mass below which a pixel counts as unreached (confidence 0).
    """

    local_lambda: float = 100.0
    local_sigma: float = 8.0
    global_lambda: float = 3000.0
    global_sigma: float = 32.0
    blend_mass: float = 1e-3
    floor: float = 1e-6


DEFAULT_PARAMS = PropagationParams()


def _smooth(guide: np.ndarray, src: np.ndarray, lam: float, sigma: float):
    out = cv2.ximgproc.fastGlobalSmootherFilter(guide, src, lam, sigma)
    return out[..., :2], np.maximum(out[..., 2], 0.0)


def _confidence(mass: np.ndarray, floor: float) -> np.ndarray:
    # log10 of the mass, mapped so floor -> 0 and 1e-1 -> 1.
    span = -1.0 - np.log10(floor)
    return np.clip((np.log10(np.maximum(mass, floor)) - np.log10(floor)) / span, 0.0, 1.0)


def propagate_hints(
    lightness: np.ndarray,
    hint_ab: np.ndarray,
    hint_mask: np.ndarray,
    params: PropagationParams = DEFAULT_PARAMS,
) -> np.ndarray:
    """Spread sparse ab hints over the image, following lightness edges.

    Args:
        lightness: ``(H, W)`` float L in [0, 100].
        hint_ab: ``(H, W, 2)`` float hint chroma in Lab units; read where the mask is set.
        hint_mask: ``(H, W)`` float in [0, 1], 1 where a hint is.
        params: filter settings.

    Returns:
        ``(H, W, 4)`` float32: channels 0-1 the propagated ab (Lab units, clipped to
        [-128, 127]; all 0 when there are no hints), channels 2-3 the local and global
        confidence in [0, 1] (log of the hint mass reaching each pixel; 0 without hints).

    Raises:
        InputError: when the shapes do not agree.
    """
    if lightness.ndim != 2:
        raise InputError(
            f"lightness has shape {lightness.shape}, expected (H, W)", field="lightness"
        )
    h, w = lightness.shape
    if hint_ab.shape != (h, w, 2):
        raise InputError(
            f"hint_ab has shape {hint_ab.shape}, expected {(h, w, 2)}", field="hint_ab"
        )
    if hint_mask.shape != (h, w):
        raise InputError(
            f"hint_mask has shape {hint_mask.shape}, expected {(h, w)}", field="hint_mask"
        )
    out = np.zeros((h, w, CHANNELS), dtype=np.float32)
    mask = np.asarray(hint_mask, dtype=np.float32)
    if not mask.any():
        return out
    guide = np.clip(lightness * 2.55 + 0.5, 0, 255).astype(np.uint8)
    src = np.empty((h, w, 3), dtype=np.float32)
    src[..., :2] = hint_ab * mask[..., None]
    src[..., 2] = mask
    num_l, mass_l = _smooth(guide, src, params.local_lambda, params.local_sigma)
    num_g, mass_g = _smooth(guide, src, params.global_lambda, params.global_sigma)
    ab_l = num_l / np.maximum(mass_l, params.floor)[..., None]
    ab_g = num_g / np.maximum(mass_g, params.floor)[..., None]
    weight = (mass_l / (mass_l + params.blend_mass))[..., None]
    out[..., :2] = np.clip(weight * ab_l + (1.0 - weight) * ab_g, -128.0, 127.0)
    out[..., 2] = _confidence(mass_l, params.floor)
    out[..., 3] = _confidence(mass_g, params.floor)
    return out


def propagate_batch(
    lightness: np.ndarray,
    hint_ab: np.ndarray,
    hint_mask: np.ndarray,
    params: PropagationParams = DEFAULT_PARAMS,
) -> np.ndarray:
    """:func:`propagate_hints` over a batch.

    Args:
        lightness: ``(B, H, W)`` float L in [0, 100].
        hint_ab: ``(B, H, W, 2)`` float.
        hint_mask: ``(B, H, W)`` float in [0, 1].
        params: filter settings.

    Returns:
        ``(B, H, W, 4)`` float32, as :func:`propagate_hints` per image.
    """
    return np.stack(
        [
            propagate_hints(lightness[i], hint_ab[i], hint_mask[i], params)
            for i in range(len(lightness))
        ]
    )
