"""Optical flow on luma: DIS wrapper, forward-backward masks, luma residual, flow worker."""

from __future__ import annotations

import numpy as np
import pytest

from vidcolor.errors import InputError
from vidcolor.temporal.flow import (
    FlowEstimator,
    compute_flow,
    compute_flow_pair,
    forward_backward_error,
    forward_backward_mask,
    forward_backward_test,
    inside_mask,
    luma_residual,
    luma_residual_mask,
    motion_boundary_mask,
    warp_image,
)


def textured(h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth random texture (DIS needs gradients everywhere)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 4, w // 4)).astype(np.float32)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(
        np.uint8
    )


def test_flow_recovers_a_translation():
    big = textured(96, 128)
    a = big[10:74, 10:106]
    b = big[12:76, 7:103]  # content moves by (+3, -2): a[y, x] == b[y - 2, x + 3]
    flow = compute_flow(a, b)
    assert flow.shape == (64, 96, 2) and flow.dtype == np.float32
    inner = flow[12:-12, 12:-12]
    assert np.median(inner[..., 0]) == pytest.approx(3.0, abs=0.25)
    assert np.median(inner[..., 1]) == pytest.approx(-2.0, abs=0.25)


def test_flow_pair_directions_are_opposite():
    big = textured(96, 128, seed=1)
    a, b = big[10:74, 10:106], big[12:76, 7:103]
    fwd, bwd = compute_flow_pair(a, b)
    assert np.median(fwd[12:-12, 12:-12, 0]) == pytest.approx(
        -np.median(bwd[12:-12, 12:-12, 0]), abs=0.3
    )
    # bwd lives on b's grid: backward-warping a with it aligns a to b.
    aligned = warp_image(a.astype(np.float32), bwd)
    err_aligned = np.abs(aligned - b)[12:-12, 12:-12].mean()
    err_raw = np.abs(a.astype(np.float32) - b)[12:-12, 12:-12].mean()
    assert err_aligned < 0.25 * err_raw


def test_warp_image_zero_flow_is_exact_identity():
    img = np.random.default_rng(2).normal(0, 50, (17, 23, 2)).astype(np.float32)
    assert np.array_equal(warp_image(img, np.zeros((17, 23, 2), np.float32)), img)


def test_warp_image_integer_shift():
    img = np.random.default_rng(3).normal(0, 50, (20, 30)).astype(np.float32)
    flow = np.zeros((20, 30, 2), np.float32)
    flow[..., 0] = 2  # out[y, x] = img[y, x + 2]
    out = warp_image(img, flow)
    assert np.array_equal(out[:, :-2], img[:, 2:])


def test_forward_backward_mask_math():
    h, w = 20, 30
    d = np.zeros((h, w, 2), np.float32)
    d[..., 0] = 3.0
    # A consistent pair: +3 there, -3 back. Inside the frame only where x + 3 <= w - 1.
    mask = forward_backward_mask(d, -d)
    assert mask[:, : w - 3].all() and not mask[:, w - 3 :].any()
    assert forward_backward_mask(d, -d, require_inside=False).all()
    # An inconsistent pair: +3 there and +3 "back" (err = 36 > 0.01 * 18 + 0.5).
    assert not forward_backward_mask(d, d, require_inside=False).any()
    err, thr = forward_backward_error(d, d)
    assert np.allclose(err, 36.0) and np.allclose(thr, 0.01 * 18 + 0.5)


def test_forward_backward_mask_finds_occlusion():
    """A square moving right over a static background covers background pixels."""
    h, w = 48, 64
    bg = textured(h, w, seed=4)
    a, b = bg.copy(), bg.copy()
    a[16:32, 10:26] = 250
    b[16:32, 18:34] = 250  # moved by +8
    fwd, bwd = compute_flow_pair(a, b)
    mask = forward_backward_mask(fwd, bwd)  # on the grid of a
    covered = np.zeros((h, w), bool)
    covered[18:30, 28:32] = True  # background of a hidden under the square in b
    far = np.zeros((h, w), bool)
    far[:, 50:60] = True
    far[40:, :] = True
    assert mask[covered].mean() < 0.5
    assert mask[far & inside_mask(fwd)].mean() > 0.9


def test_motion_boundary_mask():
    flow = np.zeros((20, 30, 2), np.float32)
    flow[:, 15:, 0] = 5.0
    mb = motion_boundary_mask(flow)
    assert mb[:, 14:16].all() and not mb[:, :12].any() and not mb[:, 18:].any()


def test_luma_residual():
    a = textured(32, 48, seed=5)
    zero = np.zeros((32, 48, 2), np.float32)
    assert luma_residual(a, a, zero).max() == 0
    b = a.copy()
    b[8:16, 8:16] = 255 - b[8:16, 8:16]
    ok = luma_residual_mask(a, b, zero, threshold=10)
    changed = np.abs(a.astype(int) - b.astype(int)) > 10
    assert np.array_equal(ok, ~changed)


def test_bad_input_is_an_input_error():
    a = np.zeros((8, 8), np.uint8)
    with pytest.raises(InputError, match="uint8"):
        compute_flow(a.astype(np.float32), a)
    with pytest.raises(InputError, match="differ in size"):
        compute_flow(a, np.zeros((8, 9), np.uint8))
    with pytest.raises(InputError, match="preset"):
        FlowEstimator("slowest")
    with pytest.raises(InputError, match=r"\(H, W, 2\)"):
        forward_backward_mask(np.zeros((8, 8)), np.zeros((8, 8)))


def test_forward_backward_test_is_one_formula_for_numpy_and_torch():
    import torch

    rng = np.random.default_rng(3)
    flow = rng.normal(0, 3, (12, 16, 2)).astype(np.float32)
    back = (-flow + rng.normal(0, 1, flow.shape)).astype(np.float32)
    err, thr = forward_backward_test(flow, back, axis=2)
    t_err, t_thr = forward_backward_test(torch.from_numpy(flow).permute(2, 0, 1)[None],
                                         torch.from_numpy(back).permute(2, 0, 1)[None], axis=1)
    assert np.array_equal(err <= thr, (t_err <= t_thr)[0].numpy())
    assert 0 < (err <= thr).mean() < 1  # the noise makes some pixels fail, some pass
