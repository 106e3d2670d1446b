"""Simulated users: the sparse color hints a network is trained (and scored) with.

Follows the SIGGRAPH17 paper's protocol (section 3.3; the authors' ``add_color_patches_rand_gt``):

* the number of hint points is geometric with p = 1/8 (P(k) = (1-p)^k p, k >= 0, mean 7,
  so 1/8 of the samples have no hints and train the automatic mode);
* each point is a square patch with a side uniform in 1..9 px;
* its location is Gaussian around the centre (sigma = 1/4 of the extent, clipped into the
  image) or uniform;
* its color is the mean ab of the true image over the patch.

The paper's counts rarely exceed 30 hints, but vidcolor is scored up to 200 hints per image
and users paint dense scribbles, so :class:`HintSampler` can also draw a share of samples with
a log-uniform count (``dense_share``). Pure functions of arrays and a NumPy generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidcolor.errors import InputError


@dataclass(frozen=True)
class HintSampler:
    """How simulated hints are drawn.

    Attributes:
        p: parameter of the geometric number of points (the paper's 1/8).
        min_patch: smallest patch side in pixels (1).
        max_patch: largest patch side in pixels (9).
        gaussian_share: probability that a sample places its points Gaussian around the
            centre (else uniform over the image).
        dense_share: probability that a sample's count is log-uniform in
            ``[1, max_points]`` instead of geometric.
        max_points: largest count drawn in the dense mode.
        extra_empty_share: probability of forcing a sample to have no hints at all, on top
            of the geometric distribution's own 1/8.
    """

    p: float = 1.0 / 8.0
    min_patch: int = 1
    max_patch: int = 9
    gaussian_share: float = 0.5
    dense_share: float = 0.0
    max_points: int = 256
    extra_empty_share: float = 0.0

    def count(self, rng: np.random.Generator) -> int:
        """Draw a number of hint points."""
        if rng.random() < self.extra_empty_share:
            return 0
        if rng.random() < self.dense_share:
            return int(np.exp(rng.uniform(0.0, np.log(self.max_points + 1.0))))
        # numpy's geometric counts trials to the first success (>= 1); the paper counts
        # failures before it (>= 0).
        return int(rng.geometric(self.p)) - 1

    def sample(
        self, ab: np.ndarray, rng: np.random.Generator, n_points: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw hints for one image.

        Args:
            ab: ``(H, W, 2)`` float32 true chroma in Lab units.
            rng: the random generator.
            n_points: a fixed number of points, or None to draw it with :meth:`count`.

        Returns:
            ``(hint_ab (H, W, 2) float32, hint_mask (H, W) float32 in {0, 1})``.
        """
        n = self.count(rng) if n_points is None else n_points
        gaussian = rng.random() < self.gaussian_share
        sizes = rng.integers(self.min_patch, self.max_patch + 1, size=n)
        return place_patches(ab, sizes, rng, gaussian=gaussian)


def place_patches(
    ab: np.ndarray, sizes: np.ndarray, rng: np.random.Generator, *, gaussian: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Put one hint patch per entry of ``sizes``, each the mean ab under it.

    Args:
        ab: ``(H, W, 2)`` float true chroma.
        sizes: ``(n,)`` int patch sides in pixels, each in [1, min(H, W)].
        rng: the random generator.
        gaussian: locations Gaussian around the centre (sigma = 1/4 of the extent, clipped
            into the image), else uniform.

    Returns:
        ``(hint_ab (H, W, 2) float32, hint_mask (H, W) float32 in {0, 1})``. Later patches
        overwrite earlier ones where they overlap.

    Raises:
        InputError: for a bad ``ab`` shape or a patch larger than the image.
    """
    if ab.ndim != 3 or ab.shape[2] != 2:
        raise InputError(f"ab has shape {ab.shape}, expected (H, W, 2)", field="ab")
    h, w = ab.shape[:2]
    hint_ab = np.zeros((h, w, 2), dtype=np.float32)
    mask = np.zeros((h, w), dtype=np.float32)
    if len(sizes) == 0:
        return hint_ab, mask
    if int(np.max(sizes)) > min(h, w) or int(np.min(sizes)) < 1:
        raise InputError(
            f"patch sides span {int(np.min(sizes))}..{int(np.max(sizes))}, expected 1..{min(h, w)}",
            field="sizes",
        )
    # Summed-area table: each patch mean in O(1).
    sat = np.zeros((h + 1, w + 1, 2), dtype=np.float64)
    sat[1:, 1:] = np.cumsum(np.cumsum(ab, axis=0, dtype=np.float64), axis=1)
    for size in sizes:
        size = int(size)
        span_y, span_x = h - size + 1, w - size + 1
        if gaussian:
            y = int(np.clip(rng.normal(span_y / 2.0, span_y / 4.0), 0, span_y - 1))
            x = int(np.clip(rng.normal(span_x / 2.0, span_x / 4.0), 0, span_x - 1))
        else:
            y = int(rng.integers(span_y))
            x = int(rng.integers(span_x))
        total = sat[y + size, x + size] - sat[y, x + size] - sat[y + size, x] + sat[y, x]
        hint_ab[y : y + size, x : x + size] = (total / (size * size)).astype(np.float32)
        mask[y : y + size, x : x + size] = 1.0
    return hint_ab, mask
