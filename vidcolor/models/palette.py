"""Suggested colors: the paper's data-driven palette from the 529-way ab-bin head.

The SIGGRAPH17 network has, besides its regression output, a classification head over a
23x23 grid of ab bins (bin centres -110, -100, ..., 110 on each axis; bin index
``a_index * 23 + b_index``, as in the official training code). Given the current hints, its
softmax at a pixel is the network's belief about that pixel's color; the most likely bins
are the colors offered to the user (Zhang et al. 2017, section 3.3).

Pure functions of arrays plus a :class:`~vidcolor.models.inference.HintColorizer`; no I/O.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import cv2
import numpy as np
import torch

from vidcolor.color import gray_to_lightness, lab_to_rgb, rgb_to_lab
from vidcolor.errors import InputError, WeightsError
from vidcolor.frames import working_shape
from vidcolor.models.inference import HintColorizer, resize_hints
from vidcolor.models.siggraph17 import NUM_CLASSES as NUM_BINS
from vidcolor.models.siggraph17 import ab_to_bin, bin_to_ab

log = logging.getLogger("vidcolor")


class PaletteColor(NamedTuple):
    """One suggested color.

    Attributes:
        ab: the bin's centre ``(a, b)`` in Lab units.
        rgb_hex: ``"#rrggbb"``, the bin's color at the pixel's own lightness.
        probability: the network's probability of that bin at the pixel, in [0, 1].
    """

    ab: tuple[float, float]
    rgb_hex: str
    probability: float


def bin_centers() -> np.ndarray:
    """The ab centre of every bin (:func:`vidcolor.models.siggraph17.bin_to_ab`).

    Returns:
        ``(529, 2)`` float32; row ``a_index * 23 + b_index`` is
        ``(-110 + 10 * a_index, -110 + 10 * b_index)``.
    """
    return bin_to_ab(torch.arange(NUM_BINS)).numpy().astype(np.float32)


def encode_ab(ab: np.ndarray) -> np.ndarray:
    """The bin index of chroma values (:func:`vidcolor.models.siggraph17.ab_to_bin`).

    Args:
        ab: ``(..., 2)`` float Lab chroma; values beyond +-110 fall in the edge bins.

    Returns:
        ``(...)`` int64 bin indices in [0, 528].
    """
    flat = torch.as_tensor(np.asarray(ab, dtype=np.float32).reshape(-1, 2))
    return ab_to_bin(flat.T[None, :, :, None])[0, :, 0].numpy().reshape(np.shape(ab)[:-1])


def in_gamut(lightness: float, ab: np.ndarray, tolerance: float = 4.0) -> np.ndarray:
    """Whether each chroma, at a lightness, is an sRGB color (round trip within tolerance).

    Args:
        lightness: L in [0, 100].
        ab: ``(N, 2)`` float chroma.
        tolerance: largest Lab distance after the sRGB round trip still counted as in gamut.

    Returns:
        ``(N,)`` bool.
    """
    lab = np.concatenate([np.full((len(ab), 1), lightness, np.float32), ab], axis=1)
    rgb = lab_to_rgb(lab[None].astype(np.float32))
    back = rgb_to_lab(rgb)[0]
    return np.linalg.norm(back - lab, axis=1) <= tolerance


def to_lightness(image: np.ndarray) -> np.ndarray:
    """Lightness of a gray uint8, RGB uint8 or float L image.

    Args:
        image: ``(H, W)`` uint8 gray, ``(H, W, 3)`` uint8 RGB, or ``(H, W)`` float L in
            [0, 100].

    Returns:
        ``(H, W)`` float32 L in [0, 100].
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
        return rgb_to_lab(image)[..., 0]
    if image.ndim == 2 and image.dtype == np.uint8:
        return gray_to_lightness(image)
    if image.ndim == 2 and np.issubdtype(image.dtype, np.floating):
        return image.astype(np.float32)
    raise InputError(
        f"found {image.dtype} {image.shape}, expected (H, W) uint8 gray, (H, W, 3) uint8 RGB "
        "or (H, W) float L", field="image",
    )


def top_bins(probabilities: np.ndarray, lightness: float, k: int, *,
             gamut_only: bool = True) -> np.ndarray:
    """The ``k`` most likely bins at one pixel, most likely first.

    Args:
        probabilities: ``(529,)`` float, the head's distribution at the pixel.
        lightness: the pixel's L in [0, 100] (for the gamut check).
        k: how many bins, >= 1.
        gamut_only: skip bins that are not sRGB colors at that lightness.

    Returns:
        ``(<= k,)`` int64 bin indices.
    """
    order = np.argsort(-np.asarray(probabilities, np.float64), kind="stable")
    if gamut_only:
        order = order[in_gamut(lightness, bin_centers()[order])]
    return order[:k]


def suggest_colors(
    colorizer: HintColorizer,
    gray_or_lightness: np.ndarray,
    x: float,
    y: float,
    hints: tuple[np.ndarray, np.ndarray] | None = None,
    k: int = 5,
    *,
    working_size: int | None = None,
    gamut_only: bool = True,
) -> list[PaletteColor]:
    """The k most likely colors at a point, given the current hints.

    The image and hints are brought to the working resolution
    (:func:`vidcolor.frames.working_shape`, the rule a video run and ``colorize_image`` use), the
    class head is evaluated, and the bins with the highest probability at the point are returned,
    most likely first.

    Args:
        colorizer: a loaded model whose weights have a trained class head.
        gray_or_lightness: ``(H, W)`` uint8 gray, ``(H, W, 3)`` uint8 RGB (its lightness is
            used) or ``(H, W)`` float32 L in [0, 100].
        x: horizontal position as a fraction of the width, in [0, 1] (as in hint files).
        y: vertical position as a fraction of the height, in [0, 1].
        hints: ``(hint_ab (H, W, 2) float32, hint_mask (H, W) float32)`` at the image's
            size (from ``hints.rasterize.rasterize_hints``), or None for no hints.
        k: how many colors, >= 1.
        working_size: the shorter side the network sees; default the weights' own.
        gamut_only: skip bins that are not sRGB colors at the point's lightness.

    Weights with a version-1 class head (``entry.palette_follows_hints`` False, e.g. the
    official release or vidcolor weights from before issue 13) give suggestions that ignore
    the hints; a warning says so when hints are given.

    Returns:
        Up to ``k`` :class:`PaletteColor` (``(ab, rgb_hex, probability)`` tuples), by
        decreasing probability.

    Raises:
        InputError: a position outside [0, 1], a bad k, or hints of the wrong size.
        WeightsError: weights whose class head was never trained.
    """
    if not colorizer.entry.class_head_trained:
        raise WeightsError(
            f"weights {colorizer.entry.name!r} have an untrained color-suggestion (class) "
            "head; expected weights trained with the ab-bin loss (e.g. an imported official "
            "model)", field="class_head_trained",
        )
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise InputError(f"found {k!r}, expected an integer >= 1", field="k")
    for name, v in (("x", x), ("y", y)):
        if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
            raise InputError(f"found {v!r}, expected a fraction in [0, 1]", field=name)
    lightness = to_lightness(gray_or_lightness)
    h, w = lightness.shape
    if hints is None:
        hint_ab = np.zeros((h, w, 2), np.float32)
        hint_mask = np.zeros((h, w), np.float32)
    else:
        hint_ab, hint_mask = (np.asarray(a, dtype=np.float32) for a in hints)
        if hint_ab.shape != (h, w, 2) or hint_mask.shape != (h, w):
            raise InputError(
                f"hints have shapes {hint_ab.shape} and {hint_mask.shape}, expected "
                f"{(h, w, 2)} and {(h, w)}", field="hints",
            )
    if not colorizer.entry.palette_follows_hints and float(hint_mask.max(initial=0.0)) > 0:
        log.warning(
            "weights %r have a version-1 palette head: its suggestions do not follow the "
            "hints (see weights/MODEL_CARD.md)", colorizer.entry.name,
        )
    size = colorizer.entry.working_size if working_size is None else working_size
    wh, ww = working_shape(h, w, size, colorizer.entry.size_multiple)
    small_l = cv2.resize(lightness, (ww, wh), interpolation=cv2.INTER_AREA
                         if wh <= h else cv2.INTER_LINEAR)
    small_ab, small_mask = resize_hints(hint_ab, hint_mask, wh, ww)
    px = min(ww - 1, int(x * ww))
    py = min(wh - 1, int(y * wh))
    probs = colorizer.class_probabilities(small_l[None], small_ab[None], small_mask[None],
                                          points=np.array([[py, px]]))
    p = probs[0, :, 0].astype(np.float64)
    point_l = float(small_l[py, px])
    centers = bin_centers()
    out = []
    for idx in top_bins(p, point_l, k, gamut_only=gamut_only):
        a, b = (float(v) for v in centers[idx])
        rgb = lab_to_rgb(np.array([[[point_l, a, b]]], np.float32))[0, 0]
        out.append(PaletteColor((a, b), "#{:02x}{:02x}{:02x}".format(*rgb), float(p[idx])))
    return out
