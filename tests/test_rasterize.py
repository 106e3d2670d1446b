"""Hints land where they were put."""

from __future__ import annotations

import numpy as np
import pytest

from vidcolor.color import rgb_to_lab
from vidcolor.errors import HintError
from vidcolor.hints.format import FrameHints, HintPoint
from vidcolor.hints.rasterize import patch_side, rasterize_hints


@pytest.mark.parametrize(("height", "width"), [(48, 64), (31, 17), (256, 456)])
def test_single_pixel_points_land_exactly(height, width):
    rng = np.random.default_rng(height)
    xs, ys = rng.random(20), rng.random(20)
    pts = [HintPoint(float(x), float(y), (float(i), -float(i))) for i, (x, y) in
           enumerate(zip(xs, ys, strict=True), start=1)]
    ab, mask = rasterize_hints(pts, height, width)
    assert ab.shape == (height, width, 2) and ab.dtype == np.float32
    assert mask.shape == (height, width) and mask.dtype == np.float32
    cells = {(int(y * height), int(x * width)) for x, y in zip(xs, ys, strict=True)}
    assert int((mask > 0).sum()) == len(cells)
    for p in pts:
        r, c = int(p.y * height), int(p.x * width)
        assert mask[r, c] == 1.0
    # With distinct cells the value is exactly the point's ab.
    if len(cells) == len(pts):
        for p in pts:
            assert tuple(ab[int(p.y * height), int(p.x * width)]) == p.ab
    assert np.all(ab[mask == 0] == 0)


def test_corners_and_edges():
    ab, mask = rasterize_hints([HintPoint(0, 0, (1, 1)), HintPoint(1, 1, (2, 2)),
                                HintPoint(1, 0, (3, 3)), HintPoint(0, 1, (4, 4))], 10, 20)
    assert mask[0, 0] == mask[9, 19] == mask[0, 19] == mask[9, 0] == 1
    assert mask.sum() == 4


def test_patch_size_is_fraction_of_shorter_side():
    height, width = 80, 200
    ab, mask = rasterize_hints([HintPoint(0.5, 0.5, (10, 20), size=0.1)], height, width)
    side = patch_side(0.1, height, width)
    assert side == 8
    rows, cols = np.nonzero(mask)
    assert rows.max() - rows.min() + 1 == side and cols.max() - cols.min() + 1 == side
    # symmetric about the centre (40.0, 100.0): [c - 4, c + 4) for an 8-pixel patch
    assert (rows.min(), cols.min()) == (40 - 4, 100 - 4)
    assert np.all(ab[mask > 0] == (10, 20))
    # odd side: exactly centred
    _, mask = rasterize_hints([HintPoint(0.5, 0.5, (1, 1), size=0.0625)], height, width)
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (38, 42, 98, 102)


def test_patch_is_clipped_at_the_border():
    _, mask = rasterize_hints([HintPoint(0, 0, (1, 1), size=0.5)], 20, 20)
    # side 10 centred at (0, 0) spans [-5, 5): the in-frame part is 5 x 5
    assert mask.sum() == 25 and mask[:5, :5].all()


def test_weights_average_and_become_the_mask():
    pts = [HintPoint(0.5, 0.5, (10, 0), weight=0.75), HintPoint(0.5, 0.5, (-10, 40), weight=0.25)]
    ab, mask = rasterize_hints(pts, 8, 8)
    assert mask[4, 4] == 0.75
    np.testing.assert_allclose(ab[4, 4], (0.75 * 10 - 0.25 * 10, 0.25 * 40), atol=1e-5)


def test_scribble_scaled_to_frame_with_nearest_alpha():
    layer = np.zeros((20, 40, 4), np.uint8)
    layer[0:10, 0:20] = (255, 0, 0, 255)  # top-left quarter red
    layer[10:20, 20:40] = (0, 0, 255, 127)  # bottom-right: alpha below 128, not a hint
    ab, mask = rasterize_hints([], 40, 80, scribble=layer)
    red = rgb_to_lab(np.array([[[255, 0, 0]]], np.uint8))[0, 0, 1:]
    assert mask[:20, :40].all() and mask.sum() == 20 * 40
    np.testing.assert_allclose(ab[:20, :40].reshape(-1, 2), np.tile(red, (800, 1)), atol=1e-4)
    # downscale keeps colors pure (transparent pixels never bleed in)
    ab, mask = rasterize_hints(FrameHints(0, scribble=layer), 5, 10)
    assert mask[:2, :5].all() and mask.sum() == np.count_nonzero(mask[:3, :5])
    np.testing.assert_allclose(ab[mask > 0].reshape(-1, 2), np.tile(red, (int(mask.sum()), 1)),
                               atol=1e-3)


def test_scribble_overrides_points_below_it():
    layer = np.zeros((10, 10, 4), np.uint8)
    layer[4:6, 4:6] = (0, 255, 0, 255)
    ab, mask = rasterize_hints(FrameHints(0, points=(HintPoint(0.45, 0.45, (90, 90), 0.5),),
                                          scribble=layer), 10, 10)
    green = rgb_to_lab(np.array([[[0, 255, 0]]], np.uint8))[0, 0, 1:]
    np.testing.assert_allclose(ab[4, 4], green, atol=1e-4)
    assert tuple(ab[2, 2]) == (90, 90)


def test_bad_sizes_raise():
    with pytest.raises(HintError):
        rasterize_hints([], 0, 10)
    with pytest.raises(HintError):
        rasterize_hints([], 4, 4, scribble=np.zeros((4, 4, 3), np.uint8))
