"""Cross-shot borrowing on synthetic scenes: A, B, then A' (A shifted and zoomed)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidcolor.color import gray_to_lightness, rgb_to_lab
from vidcolor.errors import HintError
from vidcolor.hints.format import FrameHints, HintPoint
from vidcolor.hints.match import (
    HintedShot,
    appearance_similarity,
    apply_palette,
    borrow_hints,
    describe_frame,
    match_features,
    palette_from_lab,
    palette_from_rgb,
    reference_guidance,
)

H, W = 192, 320


def scene(seed: int) -> np.ndarray:
    """A textured gray scene with blobs: plenty of SIFT features, unique per seed."""
    rng = np.random.default_rng(seed)
    noise = rng.random((H // 4, W // 4)).astype(np.float32)
    img = cv2.GaussianBlur(cv2.resize(noise, (W, H), interpolation=cv2.INTER_CUBIC), (0, 0), 2)
    img = (img * 255).clip(0, 255).astype(np.uint8)
    for _ in range(25):
        centre = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        cv2.circle(img, centre, int(rng.integers(4, 25)), int(rng.integers(0, 256)), -1)
    return img


# A' = A zoomed 1.15x about its centre and shifted 10 px right, 6 px down.
ZOOM = np.float32([[1.15, 0, -0.15 * W / 2 + 10], [0, 1.15, -0.15 * H / 2 + 6]])


def a_prime(a: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(a, ZOOM, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def shots():
    a, b = scene(1), scene(2)
    return {"A": describe_frame(a, frame=0), "B": describe_frame(b, frame=30),
            "A'": describe_frame(a_prime(a), frame=60), "noise": describe_frame(
                (np.random.default_rng(9).random((H, W)) * 255).astype(np.uint8), frame=90)}


POINTS_A = (HintPoint(0.5, 0.5, (20.0, 30.0), size=0.02), HintPoint(0.3, 0.4, (-20.0, 10.0)),
            HintPoint(0.99, 0.99, (5.0, 5.0)))  # the last one leaves the frame in A'


def hinted(shots):
    return [HintedShot(0, shots["A"], FrameHints(0, points=POINTS_A)),
            HintedShot(1, shots["B"], FrameHints(30, points=(HintPoint(0.5, 0.5, (-40, 0)),)))]


def test_descriptor_shapes(shots):
    d = shots["A"]
    assert d.thumb.shape == (16, 16) and d.hist.shape == (32,)
    assert d.hist.sum() == pytest.approx(1.0)
    assert len(d.keypoints) == len(d.descriptors) > 50
    assert appearance_similarity(d, d) == pytest.approx(1.0, abs=1e-5)
    assert appearance_similarity(shots["A"], shots["A'"]) > appearance_similarity(
        shots["A"], shots["B"])


def test_a_prime_borrows_from_a_by_features_with_exact_positions(shots):
    borrowed = borrow_hints(2, shots["A'"], hinted(shots))
    record = borrowed.record
    assert record.shot == 2 and record.source_shot == 0 and record.method == "features"
    assert record.inliers >= 50
    assert "shot 2 borrows from shot 0 by features" in record.describe()
    pts = borrowed.hints.points
    assert borrowed.hints.frame == 60
    assert len(pts) == 2 and record.points == 2  # the corner point left the frame
    for src, dst in zip(POINTS_A[:2], pts, strict=True):
        expected = ZOOM @ np.array([src.x * W, src.y * H, 1.0])
        assert dst.x * W == pytest.approx(expected[0], abs=1.5)
        assert dst.y * H == pytest.approx(expected[1], abs=1.5)
        assert dst.ab == src.ab
    assert pts[0].size == pytest.approx(0.02 * 1.15, rel=0.05)


def test_b_borrows_nothing_from_a_and_noise_matches_nothing(shots):
    only_a = hinted(shots)[:1]
    assert match_features(shots["A"], shots["B"])[0] is None
    record = borrow_hints(1, shots["B"], only_a).record
    assert record.method in ("none", "palette") and record.points == 0
    borrowed = borrow_hints(3, shots["noise"], hinted(shots))
    assert borrowed.record.method == "none" and borrowed.record.source_shot is None
    assert borrowed.hints is None and borrowed.palette is None
    assert "colorized automatically" in borrowed.record.describe()


def test_similar_without_features_falls_back_to_palette(shots):
    # Heavy blur kills SIFT matches but keeps the overall look: a palette is borrowed.
    a = scene(1)
    blurred = describe_frame(cv2.GaussianBlur(a, (0, 0), 6), frame=5)
    palette = palette_from_lab(gray_to_lightness(a), np.full((H, W, 2), (10.0, 40.0), np.float32))
    cand = [HintedShot(0, shots["A"], FrameHints(0, points=POINTS_A), palette=palette)]
    borrowed = borrow_hints(4, blurred, cand)
    assert borrowed.record.method == "palette" and borrowed.record.source_shot == 0
    assert borrowed.palette is palette and borrowed.hints is None


def test_palette_transfer_moves_colors_per_lightness_band():
    rng = np.random.default_rng(0)
    lightness = rng.uniform(0, 100, (64, 64)).astype(np.float32)
    # target: dark pixels blue-ish, bright pixels orange-ish
    target_ab = np.where(lightness[..., None] < 50, (0.0, -40.0), (30.0, 50.0)).astype(np.float32)
    palette = palette_from_lab(lightness, target_ab)
    predicted = np.zeros((64, 64, 2), np.float32) + rng.normal(0, 2, (64, 64, 2)).astype(
        np.float32)
    out = apply_palette(lightness, predicted, palette)
    dark, bright = lightness < 30, lightness > 70
    assert np.abs(out[dark].mean(axis=0) - (0, -40)).max() < 6
    assert np.abs(out[bright].mean(axis=0) - (30, 50)).max() < 6
    assert np.array_equal(apply_palette(lightness, predicted, palette, strength=0), predicted)
    with pytest.raises(HintError):
        apply_palette(lightness, predicted[:10], palette)


def test_reference_image_features_and_palette(shots):
    a = scene(1)
    # A color reference of scene A: its left half red, right half green, same luma texture.
    rgb = np.dstack([a, a, a]).astype(np.float32)
    rgb[:, : W // 2] *= (1.0, 0.55, 0.55)
    rgb[:, W // 2 :] *= (0.55, 1.0, 0.55)
    rgb = rgb.clip(0, 255).astype(np.uint8)
    guided = reference_guidance(2, shots["A'"], rgb, source_shot=0)
    assert guided.record.method == "reference-features"
    assert guided.record.source_shot == 0 and guided.hints is not None
    # points on the left of A' (well inside the red half after the zoom) carry red chroma
    red_a = rgb_to_lab(np.array([[[200, 110, 110]]], np.uint8))[0, 0, 1]
    for p in guided.hints.points:
        src_x = (p.x * W - ZOOM[0, 2]) / ZOOM[0, 0]
        if src_x < W / 2 - 20:
            assert p.ab[0] > red_a * 0.5
        elif src_x > W / 2 + 20:
            assert p.ab[0] < 0
    assert guided.palette is not None
    # an unrelated frame gets the reference's palette only
    guided = reference_guidance(3, shots["noise"], rgb)
    assert guided.record.method == "reference-palette" and guided.hints is None
    reds = palette_from_rgb(rgb)
    assert np.allclose(guided.palette.mean, reds.mean)
