"""Levin et al. 2004 baseline and the image-sweep benchmark's protocol pieces."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidcolor.errors import InputError
from vidcolor.models.levin import affinity_weights, levin_colorize

REPO = Path(__file__).resolve().parents[1]


def load_sweep():
    path = REPO / "benchmarks" / "image_sweep.py"
    spec = importlib.util.spec_from_file_location("image_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_affinities_are_normalised_and_respect_edges():
    lightness = np.zeros((6, 8), np.float32)
    lightness[:, 4:] = 80
    lightness += np.random.default_rng(0).normal(0, 0.5, lightness.shape).astype(np.float32)
    w, valid = affinity_weights(lightness)
    assert w.shape == valid.shape == (8, 6, 8)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, atol=1e-12)
    assert (w >= 0).all() and (w[~valid] == 0).all()
    assert valid[:, 0, 0].sum() == 3 and valid[:, 2, 3].sum() == 8  # corner vs interior
    # Pixel (2, 3) sits left of the edge: its right neighbours (dx = +1) get almost nothing.
    right = [i for i, (dy, dx) in enumerate([(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)
                                             if (a, b) != (0, 0)]) if dx == 1]
    assert w[right, 2, 3].sum() < 1e-3


def test_hints_are_kept_and_constant_images_fill_with_the_hint():
    lightness = np.full((24, 32), 50, np.float32)
    hint_ab = np.zeros((24, 32, 2), np.float32)
    mask = np.zeros((24, 32), np.float32)
    hint_ab[5:8, 5:8] = [30, -40]
    mask[5:8, 5:8] = 1
    out = levin_colorize(lightness, hint_ab, mask)
    assert out.shape == (24, 32, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[5:8, 5:8], hint_ab[5:8, 5:8], atol=1e-5)
    np.testing.assert_allclose(out, np.broadcast_to([30, -40], out.shape), atol=0.05)


def test_colors_stop_at_lightness_edges():
    lightness = np.full((32, 32), 20, np.float32)
    lightness[:, 16:] = 80
    hint_ab = np.zeros((32, 32, 2), np.float32)
    mask = np.zeros((32, 32), np.float32)
    hint_ab[14:17, 3:6] = [50, 20]
    hint_ab[14:17, 26:29] = [-30, -50]
    mask[14:17, 3:6] = mask[14:17, 26:29] = 1
    out = levin_colorize(lightness, hint_ab, mask)
    np.testing.assert_allclose(out[:, :15].reshape(-1, 2).mean(0), [50, 20], atol=1.0)
    np.testing.assert_allclose(out[:, 17:].reshape(-1, 2).mean(0), [-30, -50], atol=1.0)


def test_no_hints_is_gray_and_shapes_are_checked():
    lightness = np.random.default_rng(1).uniform(0, 100, (10, 12)).astype(np.float32)
    out = levin_colorize(lightness, np.zeros((10, 12, 2), np.float32), np.zeros((10, 12)))
    assert not out.any()
    with pytest.raises(InputError):
        levin_colorize(lightness, np.zeros((10, 11, 2)), np.zeros((10, 12)))
    with pytest.raises(InputError):
        levin_colorize(lightness[None], np.zeros((10, 12, 2)), np.zeros((10, 12)))


def test_sweep_hints_are_seeded_patch_means():
    sweep = load_sweep()
    ab = np.random.default_rng(2).uniform(-50, 50, (64, 64, 2)).astype(np.float32)
    a1, m1 = sweep.sample_patch_hints(ab, 10, np.random.default_rng((0, 3, 10)))
    a2, m2 = sweep.sample_patch_hints(ab, 10, np.random.default_rng((0, 3, 10)))
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(m1, m2)
    assert 36 <= m1.sum() <= 360 and set(np.unique(m1)) == {0.0, 1.0}
    none_ab, none_mask = sweep.sample_patch_hints(ab, 0, np.random.default_rng(0))
    assert not none_mask.any() and not none_ab.any()
    one_ab, one_mask = sweep.sample_patch_hints(ab, 1, np.random.default_rng(4))
    ys, xs = np.nonzero(one_mask)
    assert np.ptp(ys) == 5 and np.ptp(xs) == 5  # one 6x6 patch
    patch = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    np.testing.assert_allclose(one_ab[patch], np.broadcast_to(
        ab[patch].reshape(-1, 2).mean(0), (6, 6, 2)), atol=1e-4)
    assert sweep.psnr_uint8(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8)) == float("inf")
    assert abs(sweep.psnr_uint8(np.zeros((1, 1), np.uint8), np.full((1, 1), 255, np.uint8))) < 1e-9


def test_sweep_end_to_end_on_generated_images(tmp_path, capsys):
    sweep = load_sweep()
    rng = np.random.default_rng(0)
    for i in range(3):  # smooth, colorful images: Levin must beat gray with many hints
        small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = cv2.resize(small, (48, 40), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(tmp_path / f"{i}.png"), img)
    (tmp_path / "notes.txt").write_text("ignored")
    out = tmp_path / "r.json"
    code = sweep.main([str(tmp_path), "--methods", "gray,levin,propagate", "--ns", "0,5,50",
                       "--side", "32", "--limit", "2", "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads(out.read_text())
    result = report["datasets"][tmp_path.name]
    assert result["images"] == ["0.png", "1.png"]
    psnr = result["psnr"]
    assert psnr["gray"]["0"] == psnr["gray"]["50"] == psnr["levin"]["0"]  # no hints: gray
    assert np.mean(psnr["levin"]["50"]) > np.mean(psnr["gray"]["50"]) + 2
    assert result["summary"]["levin"]["50"]["se"] >= 0
    table = capsys.readouterr().out
    assert "| N | gray | levin | propagate |" in table and "| 50 |" in table
    # The saved JSON prints the same tables again.
    assert sweep.main(["--table-from", str(out)]) == 0
    assert capsys.readouterr().out.strip() == table.strip()


def test_pixels_without_a_path_to_any_hint_stay_gray(monkeypatch):
    """Should weights ever cut a region off from every hint, it is gray, not NaN."""
    from vidcolor.models import levin

    def walled(lightness):
        w, valid = affinity_weights(lightness)
        w[:, :, 8:] = 0.0  # the right half has no edges at all
        left = np.array([dx for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)])
        w[left == 1, :, 7] = 0.0  # and the left half does not lean on it
        w[:, :, :8] /= np.maximum(w[:, :, :8].sum(axis=0, keepdims=True), 1e-12)
        return w, valid

    monkeypatch.setattr(levin, "affinity_weights", walled)
    lightness = np.full((8, 16), 50, np.float32)
    hint_ab = np.zeros((8, 16, 2), np.float32)
    mask = np.zeros((8, 16), np.float32)
    hint_ab[3, 2] = [40, 10]
    mask[3, 2] = 1
    out = levin.levin_colorize(lightness, hint_ab, mask)
    assert np.isfinite(out).all()
    assert not out[:, 8:].any()
    np.testing.assert_allclose(out[:, :8], np.broadcast_to([40, 10], (8, 8, 2)), atol=1e-4)


@pytest.mark.parametrize(("h", "w"), [(1, 1), (7, 5), (33, 64), (64, 40)])
def test_nested_dissection_is_a_permutation_with_separators_last(h, w):
    from vidcolor.models.levin import nested_dissection

    order = nested_dissection(h, w, leaf=16)
    assert sorted(order.tolist()) == list(range(h * w))
    if h * w > 16:
        mid = h // 2 if h >= w else None
        sep = (np.arange(w) + mid * w) if mid is not None else (np.arange(h) * w + w // 2)
        assert set(order[-len(sep):].tolist()) == set(sep.tolist())


def test_solution_matches_a_pivoting_direct_solve(monkeypatch):
    """The no-pivot nested-dissection LU gives SuperLU's default answer."""
    import scipy.sparse.linalg as sl

    from vidcolor.models import levin

    rng = np.random.default_rng(3)
    lightness = cv2.GaussianBlur(rng.uniform(0, 100, (40, 48)).astype(np.float32), (0, 0), 2)
    hint_ab = np.zeros((40, 48, 2), np.float32)
    mask = np.zeros((40, 48), np.float32)
    for y, x in rng.integers(0, 40, (6, 2)):
        hint_ab[y:y + 3, x:x + 3] = rng.uniform(-50, 50, 2)
        mask[y:y + 3, x:x + 3] = 1
    fast = levin.levin_colorize(lightness, hint_ab, mask)

    def no_splu(*args, **kwargs):
        raise RuntimeError("force the fallback")

    monkeypatch.setattr(sl, "splu", no_splu)
    slow = levin.levin_colorize(lightness, hint_ab, mask)
    np.testing.assert_allclose(fast, slow, atol=1e-4)
    assert np.abs(fast).max() > 10
