"""Optical flow on luma (OpenCV DIS) and the masks that say where it can be trusted.

Pure NumPy/OpenCV functions, no I/O. The run computes the flow of each consecutive pair
of frames once, at working resolution, off the inference thread (``vidcolor.run``), and
hands the same arrays to hint tracking (with the masks of :func:`forward_backward_mask`) and
to temporal smoothing (which applies :func:`forward_backward_test` to torch tensors).

Flow convention (OpenCV's): ``flow = compute_flow(a, b)`` is a ``(H, W, 2)`` float32 field of
``(dx, dy)`` pixel displacements on the grid of ``a`` such that ``a[y, x] ~ b[y + dy, x + dx]``.
So for a consecutive pair ``(t - 1, t)``:

* ``fwd = compute_flow(gray[t - 1], gray[t])`` moves a point of frame ``t - 1`` to frame ``t``
  (forward hint tracking);
* ``bwd = compute_flow(gray[t], gray[t - 1])`` says where each pixel of frame ``t`` was in
  frame ``t - 1``; backward-warping frame ``t - 1``'s colors with it aligns them to frame ``t``
  (temporal smoothing, backward hint tracking).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from vidcolor.errors import InputError

#: DIS presets by name. ``"medium"`` is the default: at 256 px it is the accurate one and still
#: fast (see benchmarks/README.md, "Optical flow preset").
PRESETS = {
    "ultrafast": cv2.DISOpticalFlow_PRESET_ULTRAFAST,
    "fast": cv2.DISOpticalFlow_PRESET_FAST,
    "medium": cv2.DISOpticalFlow_PRESET_MEDIUM,
}
DEFAULT_PRESET = "medium"

# Sundaram et al. (2010) forward-backward criterion, as used by Ruder et al. (2016):
# |w + w_back|^2 > ALPHA1 * (|w|^2 + |w_back|^2) + ALPHA2 marks a pixel occluded.
FB_ALPHA1 = 0.01
FB_ALPHA2 = 0.5
# Ruder et al. (2016) motion boundaries: |grad u|^2 + |grad v|^2 > MB_ALPHA1 |w|^2 + MB_ALPHA2.
MB_ALPHA1 = 0.01
MB_ALPHA2 = 0.002
# Luma residual (0..255 scale) above which a warped pixel is not the same content.
LUMA_RESIDUAL_THRESHOLD = 24.0


def _check_gray(gray: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(gray, np.ndarray) or gray.ndim != 2:
        shape = getattr(gray, "shape", type(gray).__name__)
        raise InputError(f"expected a (H, W) uint8 gray image, found shape {shape}", field=name)
    if gray.dtype != np.uint8:
        raise InputError(f"expected dtype uint8, found {gray.dtype}", field=name)
    return np.ascontiguousarray(gray)


def _check_flow(flow: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(flow, np.ndarray) or flow.ndim != 3 or flow.shape[2] != 2:
        shape = getattr(flow, "shape", type(flow).__name__)
        raise InputError(f"expected a (H, W, 2) float32 flow, found shape {shape}", field=name)
    return np.ascontiguousarray(flow, dtype=np.float32)


class FlowEstimator:
    """A reusable DIS optical-flow estimator (one per thread: OpenCV's DIS is not thread-safe).

    Args:
        preset: ``"ultrafast"``, ``"fast"`` or ``"medium"``.

    Example:
        >>> est = FlowEstimator()
        >>> a = np.zeros((64, 64), np.uint8)
        >>> est(a, a).shape
        (64, 64, 2)
    """

    def __init__(self, preset: str = DEFAULT_PRESET):
        if preset not in PRESETS:
            raise InputError(f"expected one of {sorted(PRESETS)}, found {preset!r}", field="preset")
        self.preset = preset
        self._dis = cv2.DISOpticalFlow.create(PRESETS[preset])

    def __call__(self, prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
        """Flow from ``prev_gray`` to ``next_gray``; see :func:`compute_flow`."""
        a = _check_gray(prev_gray, "prev_gray")
        b = _check_gray(next_gray, "next_gray")
        if a.shape != b.shape:
            raise InputError(
                f"frames differ in size: {a.shape} and {b.shape}; expected equal", field="next_gray"
            )
        return self._dis.calc(a, b, None)

    def pair(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward and backward flow of a pair; see :func:`compute_flow_pair`."""
        return self(a, b), self(b, a)


def compute_flow(
    prev_gray: np.ndarray, next_gray: np.ndarray, preset: str = DEFAULT_PRESET
) -> np.ndarray:
    """Dense optical flow between two gray frames (OpenCV DIS).

    Args:
        prev_gray: ``(H, W)`` uint8 luma, full range 0..255.
        next_gray: ``(H, W)`` uint8 luma of the same size.
        preset: DIS preset name, see :data:`PRESETS`.

    Returns:
        ``(H, W, 2)`` float32 ``(dx, dy)`` in pixels on the grid of ``prev_gray``, such that
        ``prev_gray[y, x] ~ next_gray[y + dy, x + dx]``.
    """
    return FlowEstimator(preset)(prev_gray, next_gray)


def compute_flow_pair(
    a: np.ndarray, b: np.ndarray, preset: str = DEFAULT_PRESET
) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward flow of a consecutive pair.

    Args:
        a: ``(H, W)`` uint8 luma of frame ``t - 1``.
        b: ``(H, W)`` uint8 luma of frame ``t``.
        preset: DIS preset name.

    Returns:
        ``(fwd, bwd)``: ``fwd = compute_flow(a, b)`` on the grid of ``a`` and
        ``bwd = compute_flow(b, a)`` on the grid of ``b``; each ``(H, W, 2)`` float32.
    """
    return FlowEstimator(preset).pair(a, b)


def warp_image(
    image: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE
) -> np.ndarray:
    """Backward-warp an image with a flow: ``out[y, x] = image[y + dy, x + dx]`` (bilinear).

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` array (uint8 or float32), C <= 4.
        flow: ``(H, W, 2)`` float32 pixel displacements on the output grid.
        border: OpenCV border mode for samples outside the image.

    Returns:
        The warped image, same shape and dtype as ``image``. Zero flow returns ``image`` exactly.
    """
    flow = _check_flow(flow, "flow")
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=border
    )


def inside_mask(flow: np.ndarray) -> np.ndarray:
    """Where a flow lands inside the frame.

    Args:
        flow: ``(H, W, 2)`` float32.

    Returns:
        ``(H, W)`` bool, True where ``(x + dx, y + dy)`` lies within ``[0, W-1] x [0, H-1]``.
    """
    flow = _check_flow(flow, "flow")
    h, w = flow.shape[:2]
    x = np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]
    y = np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def forward_backward_error(fwd: np.ndarray, bwd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Round-trip error of a flow pair and its Sundaram threshold.

    Args:
        fwd: ``(H, W, 2)`` float32 flow from frame A to frame B (grid of A).
        bwd: ``(H, W, 2)`` float32 flow from B to A (grid of B).

    Returns:
        ``(err, thr)``, each ``(H, W)`` float32 on the grid of A: ``err = |fwd + bwd~|^2`` with
        ``bwd~ = bwd`` sampled at ``x + fwd(x)``, and
        ``thr = FB_ALPHA1 * (|fwd|^2 + |bwd~|^2) + FB_ALPHA2``.
    """
    fwd = _check_flow(fwd, "fwd")
    bwd = _check_flow(bwd, "bwd")
    if fwd.shape != bwd.shape:
        raise InputError(
            f"flows differ in shape: {fwd.shape} and {bwd.shape}; expected equal", field="bwd"
        )
    return forward_backward_test(fwd, warp_image(bwd, fwd), axis=2)


def forward_backward_test(flow: Any, back: Any, axis: int) -> tuple[Any, Any]:
    """The Sundaram et al. (2010) round-trip test: the one copy, for NumPy and torch alike.

    Args:
        flow: a flow field (NumPy array or torch tensor) with its two components on ``axis``.
        back: the reverse flow already sampled where ``flow`` lands, same layout.
        axis: the component axis (2 for ``(H, W, 2)`` arrays, 1 for ``(B, 2, H, W)``
            tensors).

    Returns:
        ``(err, thr)`` without the component axis: ``err = |flow + back|^2`` and
        ``thr = FB_ALPHA1 * (|flow|^2 + |back|^2) + FB_ALPHA2``; consistent where
        ``err <= thr``.
    """
    err = ((flow + back) ** 2).sum(axis)
    thr = FB_ALPHA1 * ((flow**2).sum(axis) + (back**2).sum(axis)) + FB_ALPHA2
    return err, thr


def motion_boundary_mask(flow: np.ndarray) -> np.ndarray:
    """Ruder et al. (2016) motion boundaries: where the flow's gradient is large.

    Args:
        flow: ``(H, W, 2)`` float32.

    Returns:
        ``(H, W)`` bool, True on a motion boundary.
    """
    flow = _check_flow(flow, "flow")
    grad = np.zeros(flow.shape[:2], np.float32)
    for c in range(2):
        gy, gx = np.gradient(flow[..., c])
        grad += gx**2 + gy**2
    return grad > MB_ALPHA1 * np.sum(flow**2, axis=2) + MB_ALPHA2


def forward_backward_mask(
    fwd: np.ndarray,
    bwd: np.ndarray,
    *,
    motion_boundaries: bool = False,
    require_inside: bool = True,
) -> np.ndarray:
    """Where a flow is consistent with its reverse (Sundaram et al. 2010, Ruder et al. 2016).

    A pixel ``x`` of frame A is consistent when following ``fwd`` to B and ``bwd`` back returns
    near ``x``: ``|fwd(x) + bwd(x + fwd(x))|^2 <= 0.01 (|fwd|^2 + |bwd~|^2) + 0.5``. Pixels of A
    occluded in B (or disoccluded in A, when A is the later frame) fail it.

    Args:
        fwd: ``(H, W, 2)`` float32 flow from A to B, on the grid of A.
        bwd: ``(H, W, 2)`` float32 flow from B to A, on the grid of B.
        motion_boundaries: also reject Ruder's motion boundaries (used by the E_warp benchmark).
        require_inside: reject pixels whose flow leaves the frame.

    Returns:
        ``(H, W)`` bool on the grid of A, True where consistent.

    Example:
        >>> z = np.zeros((8, 8, 2), np.float32)
        >>> bool(forward_backward_mask(z, z).all())
        True
    """
    err, thr = forward_backward_error(fwd, bwd)
    mask = err <= thr
    if motion_boundaries:
        mask &= ~motion_boundary_mask(fwd)
    if require_inside:
        mask &= inside_mask(fwd)
    return mask


def luma_residual(src_gray: np.ndarray, dst_gray: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """How much ``src`` warped onto ``dst`` by ``flow`` differs from ``dst`` in luma.

    Args:
        src_gray: ``(H, W)`` uint8 luma of the frame sampled (e.g. ``t - 1``).
        dst_gray: ``(H, W)`` uint8 luma of the frame whose grid ``flow`` lives on (e.g. ``t``).
        flow: ``(H, W, 2)`` float32 flow from ``dst`` to ``src`` (e.g. ``bwd`` of the pair).

    Returns:
        ``(H, W)`` float32 absolute difference in 0..255 units.
    """
    src = _check_gray(src_gray, "src_gray").astype(np.float32)
    dst = _check_gray(dst_gray, "dst_gray").astype(np.float32)
    return np.abs(warp_image(src, flow) - dst)


def luma_residual_mask(
    src_gray: np.ndarray,
    dst_gray: np.ndarray,
    flow: np.ndarray,
    threshold: float = LUMA_RESIDUAL_THRESHOLD,
) -> np.ndarray:
    """True where the warped luma matches (residual below ``threshold`` in 0..255 units).

    Args:
        src_gray: ``(H, W)`` uint8 luma of the frame sampled.
        dst_gray: ``(H, W)`` uint8 luma on whose grid ``flow`` lives.
        flow: ``(H, W, 2)`` float32 flow from ``dst`` to ``src``.
        threshold: largest accepted absolute luma difference.

    Returns:
        ``(H, W)`` bool.
    """
    return luma_residual(src_gray, dst_gray, flow) <= threshold
