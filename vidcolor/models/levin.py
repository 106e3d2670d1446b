"""Levin, Lischinski and Weiss 2004, "Colorization using Optimization": the classic baseline.

Neighbouring pixels with similar lightness should have similar chroma. Each unhinted pixel's
chroma is the affinity-weighted mean of its 3x3 neighbours' chroma; hinted pixels are held at
their hint (hard constraints). That is one sparse linear system per image, solved here with
SciPy's sparse LU (SuperLU) for both chroma channels at once, with the unknowns in a
nested-dissection order of the pixel grid (about twice as fast as SuperLU's default COLAMD
ordering at 256x256, same solution to 1e-11). The matrix is row diagonally dominant, so the
LU needs no pivoting.

The affinity follows the authors' reference code: ``w_rs = exp(-(Y_r - Y_s)^2 / c_r)`` with
``c_r`` 0.6 times the variance of the 3x3 window, raised so the most similar neighbour keeps at
least 1% weight, and never below 2e-6; weights are normalised to sum to one. ``Y`` is the
lightness scaled to [0, 1]. (With that window rule no weight can underflow to zero, since a
neighbour's squared difference is at most 9 window variances; still, should a pixel have no
chain of non-zero weights leading to a hint, which would make the system singular, it is held
at gray.)

SciPy is an optional dependency (the ``bench`` extra); it is imported when a function here runs.
"""

from __future__ import annotations

import numpy as np

from vidcolor.errors import InputError

# The 8 neighbours of a 3x3 window, as (dy, dx).
_OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def affinity_weights(lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised 3x3 affinities between each pixel and its neighbours.

    Args:
        lightness: ``(H, W)`` float L in [0, 100].

    Returns:
        ``(weights, valid)``: both ``(8, H, W)``; ``weights`` float64, non-negative, summing
        to 1 over the valid neighbours of each pixel (the 8 neighbours in ``_OFFSETS``
        order); ``valid`` bool, False where the neighbour falls outside the image.
    """
    y = lightness.astype(np.float64) / 100.0
    h, w = y.shape
    padded = np.pad(y, 1, mode="edge")
    valid_pad = np.pad(np.ones((h, w), dtype=bool), 1, constant_values=False)
    neigh = np.stack([padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in _OFFSETS])
    valid = np.stack([valid_pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in _OFFSETS])

    # Window statistics over the valid neighbours plus the centre pixel.
    count = valid.sum(axis=0) + 1.0
    mean = (np.where(valid, neigh, 0.0).sum(axis=0) + y) / count
    var = (np.where(valid, (neigh - mean) ** 2, 0.0).sum(axis=0) + (y - mean) ** 2) / count
    sq_diff = (neigh - y) ** 2
    min_sq = np.where(valid, sq_diff, np.inf).min(axis=0)
    csig = np.maximum(var * 0.6, -min_sq / np.log(0.01))
    csig = np.maximum(csig, 2e-6)
    weights = np.where(valid, np.exp(-sq_diff / csig), 0.0)
    weights /= weights.sum(axis=0, keepdims=True)
    return weights, valid


def nested_dissection(height: int, width: int, leaf: int = 64) -> np.ndarray:
    """A fill-reducing elimination order of the pixels of a grid with 3x3 neighbourhoods.

    The grid is split by a middle row or column (whichever halves the longer side); both
    halves are ordered recursively and the separator comes last.

    Args:
        height: grid height.
        width: grid width.
        leaf: blocks of at most this many pixels are ordered row by row.

    Returns:
        ``(height * width,)`` int64 permutation of the flat pixel indices.
    """
    index = np.arange(height * width).reshape(height, width)
    order: list[np.ndarray] = []
    stack = [(0, height, 0, width, False)]
    while stack:  # explicit stack: (rows, cols, emit separator now?)
        r0, r1, c0, c1, is_sep = stack.pop()
        if is_sep or (r1 - r0) * (c1 - c0) <= leaf:
            order.append(index[r0:r1, c0:c1].ravel())
            continue
        if r1 - r0 >= c1 - c0:
            mid = (r0 + r1) // 2
            parts = [(r0, mid, c0, c1, False), (mid + 1, r1, c0, c1, False),
                     (mid, mid + 1, c0, c1, True)]
        else:
            mid = (c0 + c1) // 2
            parts = [(r0, r1, c0, mid, False), (r0, r1, mid + 1, c1, False),
                     (r0, r1, mid, mid + 1, True)]
        stack.extend(reversed(parts))  # popped in order: first half, second half, separator
    return np.concatenate(order)


def levin_colorize(lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray) -> np.ndarray:
    """Propagate sparse chroma hints over a lightness image (Levin et al. 2004).

    Args:
        lightness: ``(H, W)`` float L in [0, 100].
        hint_ab: ``(H, W, 2)`` float chroma; read only where ``hint_mask`` is set.
        hint_mask: ``(H, W)`` float or bool; > 0.5 marks a hinted pixel.

    Returns:
        ``(H, W, 2)`` float32 ab. Hinted pixels keep their hint exactly; with no hint at all
        the result is gray (all zeros), since nothing anchors the system.

    Raises:
        InputError: when the shapes do not agree.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order
    from scipy.sparse.linalg import splu, spsolve

    if lightness.ndim != 2:
        raise InputError(
            f"expected (H, W) lightness, found shape {lightness.shape}", field="lightness"
        )
    h, w = lightness.shape
    if hint_ab.shape != (h, w, 2):
        raise InputError(f"expected shape {(h, w, 2)}, found {hint_ab.shape}", field="hint_ab")
    if hint_mask.shape != (h, w):
        raise InputError(f"expected shape {(h, w)}, found {hint_mask.shape}", field="hint_mask")
    hinted = np.asarray(hint_mask) > 0.5
    if not hinted.any():
        return np.zeros((h, w, 2), dtype=np.float32)

    n = h * w
    weights, valid = affinity_weights(lightness)
    index = np.arange(n).reshape(h, w)
    index_pad = np.pad(index, 1, mode="edge")
    cols = np.stack([index_pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in _OFFSETS])
    rows = np.broadcast_to(index, cols.shape)
    linked = valid & (weights > 0)
    # Pixels with a chain of non-zero weights to a hint: reachable from the hints along
    # reversed edges (node n is a virtual source linked to every hinted pixel).
    flat_hinted = hinted.reshape(-1)
    src = np.concatenate([cols[linked], np.full(int(flat_hinted.sum()), n)])
    dst = np.concatenate([rows[linked], np.flatnonzero(flat_hinted)])
    reverse = csr_matrix((np.ones(len(src)), (src, dst)), shape=(n + 1, n + 1))
    reached = np.zeros(n + 1, dtype=bool)
    reached[breadth_first_order(reverse, n, directed=True, return_predecessors=False)] = True
    fixed = (flat_hinted | ~reached[:n]).reshape(h, w)  # identity rows
    keep = linked & ~fixed[None]
    data = np.concatenate([np.ones(n), -weights[keep]])
    row_idx = np.concatenate([np.arange(n), rows[keep]])
    col_idx = np.concatenate([np.arange(n), cols[keep]])
    matrix = csr_matrix((data, (row_idx, col_idx)), shape=(n, n))

    rhs = np.zeros((n, 2), dtype=np.float64)
    rhs[flat_hinted] = hint_ab.reshape(n, 2)[flat_hinted]
    perm = nested_dissection(h, w)
    try:
        lu = splu(matrix[perm][:, perm].tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.0,
                  options={"SymmetricMode": True})
        solution = np.empty_like(rhs)
        solution[perm] = lu.solve(rhs[perm])
    except RuntimeError:  # numerically singular without pivoting: let SuperLU pivot
        solution = spsolve(matrix.tocsc(), rhs)
    return np.asarray(solution, dtype=np.float32).reshape(h, w, 2)
