"""Palette suggestions from the 529-way class head."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from vidcolor.color import lab_to_rgb
from vidcolor.errors import InputError, WeightsError
from vidcolor.models import palette, weights
from vidcolor.models.inference import HintColorizer
from vidcolor.models.registry import WeightsEntry

ENTRY = WeightsEntry(
    name="q", file="q.safetensors", sha256="", license="MIT", source="test", location="cache",
    width_mult=0.125, class_head_trained=True, working_size=32,
)


def rigged(favourites: dict[tuple[float, float], float], seed: int = 0) -> HintColorizer:
    """A colorizer whose class head outputs fixed logits: ``favourites`` get the given
    logits, every other bin 0."""
    torch.manual_seed(seed)
    model = weights.build_model(ENTRY)
    head = model.model_class[0]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        for ab, logit in favourites.items():
            head.bias[int(palette.encode_ab(np.array(ab)))] = logit
    return HintColorizer.from_model(model, ENTRY, device="cpu")


def test_bin_grid_is_the_official_one():
    centers = palette.bin_centers()
    assert centers.shape == (529, 2)
    assert tuple(centers[0]) == (-110, -110) and tuple(centers[-1]) == (110, 110)
    assert tuple(centers[1]) == (-110, -100)  # b varies fastest: index = a_idx * 23 + b_idx
    assert tuple(centers[23]) == (-100, -110)
    np.testing.assert_array_equal(palette.encode_ab(centers), np.arange(529))
    assert palette.encode_ab(np.array([4.9, -5.1])) == 11 * 23 + 10  # rounds to (0, -10)
    assert palette.encode_ab(np.array([500.0, -500.0])) == 22 * 23 + 0  # clipped to the grid


def test_top_k_follow_the_head_with_colors_at_the_points_lightness():
    favourites = {(20.0, 30.0): 6.0, (-20.0, 10.0): 5.0, (0.0, -30.0): 4.0}
    colorizer = rigged(favourites)
    gray = np.full((40, 60), 150, np.uint8)
    out = palette.suggest_colors(colorizer, gray, 0.5, 0.5, k=3)
    assert [c.ab for c in out] == list(favourites)
    z = np.exp(6) + np.exp(5) + np.exp(4) + 526
    np.testing.assert_allclose([c.probability for c in out],
                               [np.exp(6) / z, np.exp(5) / z, np.exp(4) / z], rtol=1e-4)
    lightness = float(palette.to_lightness(gray)[0, 0])
    for color in out:
        rgb = lab_to_rgb(np.array([[[lightness, *color.ab]]], np.float32))[0, 0]
        assert color.rgb_hex == "#{:02x}{:02x}{:02x}".format(*rgb)
        ab, rgb_hex, probability = color  # also a plain (ab, hex, probability) tuple
        assert rgb_hex.startswith("#") and len(rgb_hex) == 7 and 0 < probability < 1
    more = palette.suggest_colors(colorizer, gray, 0.5, 0.5, k=10)
    assert len(more) == 10 and more[:3] == out
    probs = [c.probability for c in more]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0


def test_out_of_gamut_bins_are_skipped():
    # (-110, 110) is far outside sRGB at mid lightness; (10, 10) is inside.
    colorizer = rigged({(-110.0, 110.0): 9.0, (10.0, 10.0): 5.0})
    gray = np.full((32, 32), 128, np.uint8)
    assert palette.suggest_colors(colorizer, gray, 0.3, 0.3, k=1)[0].ab == (10.0, 10.0)
    raw = palette.suggest_colors(colorizer, gray, 0.3, 0.3, k=1, gamut_only=False)
    assert raw[0].ab == (-110.0, 110.0)


def test_suggestions_depend_on_hints_and_position():
    torch.manual_seed(5)
    model = weights.build_model(ENTRY)
    colorizer = HintColorizer.from_model(model, ENTRY, device="cpu")
    rng = np.random.default_rng(0)
    gray = (rng.random((48, 64)) * 255).astype(np.uint8)
    base = palette.suggest_colors(colorizer, gray, 0.25, 0.5, k=5, gamut_only=False)
    hint_ab = np.zeros((48, 64, 2), np.float32)
    mask = np.zeros((48, 64), np.float32)
    hint_ab[20:28, 12:20] = [60, 60]
    mask[20:28, 12:20] = 1
    hinted = palette.suggest_colors(colorizer, gray, 0.25, 0.5, (hint_ab, mask), k=5,
                                    gamut_only=False)
    assert [c.probability for c in base] != [c.probability for c in hinted]
    other = palette.suggest_colors(colorizer, gray, 0.9, 0.1, k=5, gamut_only=False)
    assert [c.probability for c in base] != [c.probability for c in other]


def test_inputs_gray_rgb_and_float_lightness_agree():
    colorizer = rigged({(20.0, 30.0): 6.0})
    gray = np.full((24, 24), 90, np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    lightness = palette.to_lightness(gray)
    results = [palette.suggest_colors(colorizer, img, 0.5, 0.5, k=2)
               for img in (gray, rgb, lightness)]
    assert results[0] == results[1] == results[2]


def test_untrained_head_and_bad_arguments_are_refused():
    colorizer = rigged({})
    gray = np.zeros((16, 16), np.uint8)
    untrained = HintColorizer.from_model(colorizer.model, replace(ENTRY, class_head_trained=False),
                                         device="cpu")
    with pytest.raises(WeightsError, match="untrained"):
        palette.suggest_colors(untrained, gray, 0.5, 0.5)
    for x, y, k, field in ((1.5, 0.5, 5, "x"), (0.5, -0.1, 5, "y"), (0.5, 0.5, 0, "k")):
        with pytest.raises(InputError) as err:
            palette.suggest_colors(colorizer, gray, x, y, k=k)
        assert err.value.field == field
    with pytest.raises(InputError, match="hints"):
        palette.suggest_colors(colorizer, gray, 0.5, 0.5,
                               (np.zeros((8, 8, 2), np.float32), np.zeros((8, 8), np.float32)))
    with pytest.raises(InputError):
        palette.to_lightness(np.zeros((4, 4, 4), np.uint8))


def test_suggest_command(tmp_path, monkeypatch):
    import json

    import cv2
    from click.testing import CliRunner

    from vidcolor.cli import cli

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    colorizer = rigged({(20.0, 30.0): 6.0, (-20.0, 10.0): 5.0})
    wfile = tmp_path / "rigged.safetensors"
    weights.save_weights(colorizer.model, ENTRY, wfile)
    image = tmp_path / "gray.png"
    cv2.imwrite(str(image), np.full((40, 56), 140, np.uint8))
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"version": 1, "points": [
        {"x": 0.2, "y": 0.2, "color": "#7a4b2c"}]}))
    runner = CliRunner()
    args = ["suggest", str(image), "--at", "0.5,0.5", "--hints", str(hints), "-k", "2",
            "--weights", str(wfile), "--device", "cpu"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and "a= +20.0 b= +30.0" in lines[0] and lines[0].startswith("#")
    assert "version-1 palette head" in result.stderr  # these weights' palette ignores hints
    result = runner.invoke(cli, [*args, "--json"])
    data = json.loads(result.stdout)
    assert [d["ab"] for d in data] == [[20.0, 30.0], [-20.0, 10.0]]
    assert data[0]["probability"] > data[1]["probability"]
    bad = runner.invoke(cli, [*args[:3], "0.5", *args[4:]])
    assert bad.exit_code == 2 and "--at" in bad.output
    outside = runner.invoke(cli, [*args[:3], "1.5,0.5", *args[4:]])
    assert outside.exit_code == 2 and "fraction" in outside.output


def test_suggest_colors_in_the_python_api(tmp_path):
    from vidcolor import api

    colorizer = rigged({(20.0, 30.0): 6.0, (-20.0, 10.0): 5.0})
    wfile = tmp_path / "rigged.safetensors"
    weights.save_weights(colorizer.model, ENTRY, wfile)
    gray = np.full((40, 56), 140, np.uint8)
    hints = {"version": 1, "points": [{"x": 0.2, "y": 0.2, "color": "#7a4b2c"}]}
    colors = api.Colorizer(wfile, "cpu").suggest_colors(gray, 0.5, 0.5, hints, k=2)
    assert [c.ab for c in colors] == [(20.0, 30.0), (-20.0, 10.0)]
    import vidcolor

    assert vidcolor.suggest_colors(gray, 0.5, 0.5, hints, k=2, weights=str(wfile),
                                   device="cpu") == colors


V2_ENTRY = replace(ENTRY, extra_inputs=4, extra="propagation", residual=True,
                   class_head_version=2)


def chroma_reading(seed: int = 0) -> HintColorizer:
    """A version-2 colorizer whose head trusts the network's own ab fully.

    The free logits are zero and the gate is large, so the head ranks bins by distance to
    the network's ab; the untrained residual trunk returns the propagation of the hints.
    """
    torch.manual_seed(seed)
    model = weights.build_model(V2_ENTRY)
    head = model.model_class
    with torch.no_grad():
        for layer in (head.logits, head.gate):
            layer.weight.zero_()
            layer.bias.zero_()
        head.gate.bias.fill_(0.5)
    return HintColorizer.from_model(model, V2_ENTRY, device="cpu")


def test_version_2_palette_follows_a_saturated_hint_next_to_it():
    colorizer = chroma_reading()
    gray = np.full((48, 64), 120, np.uint8)
    gray[:, 40:] = 30  # another surface, behind an edge
    hint_ab = np.zeros((48, 64, 2), np.float32)
    mask = np.zeros((48, 64), np.float32)
    hint_ab[20:23, 10:13] = [10.0, -40.0]  # saturated blue, an sRGB color at this lightness
    mask[20:23, 10:13] = 1
    near = palette.suggest_colors(colorizer, gray, 18 / 64, 21 / 48, (hint_ab, mask), k=3)
    assert near[0].ab == (10.0, -40.0)
    assert near[0].probability > near[1].probability
    unhinted = palette.suggest_colors(colorizer, gray, 18 / 64, 21 / 48, k=1)
    assert unhinted[0].ab == (0.0, 0.0)  # the same point without the hint: gray


def test_version_1_palette_warns_that_it_ignores_hints(caplog):
    gray = np.full((32, 32), 120, np.uint8)
    hint_ab = np.zeros((32, 32, 2), np.float32)
    mask = np.zeros((32, 32), np.float32)
    hint_ab[10:13, 10:13], mask[10:13, 10:13] = [30.0, 30.0], 1
    for colorizer, warns in ((rigged({(20.0, 30.0): 6.0}), True), (chroma_reading(), False)):
        caplog.clear()
        with caplog.at_level("WARNING", logger="vidcolor"):
            palette.suggest_colors(colorizer, gray, 0.5, 0.5, (hint_ab, mask), k=1)
            palette.suggest_colors(colorizer, gray, 0.5, 0.5, k=1)  # no hints: no warning
        assert [("do not follow" in r.getMessage()) for r in caplog.records] == (
            [True] if warns else [])


def test_probabilities_at_points_equal_the_full_map():
    colorizer = chroma_reading()
    rng = np.random.default_rng(1)
    lightness = (rng.random((2, 30, 37)) * 100).astype(np.float32)  # padded to 32x40 inside
    hint_ab = np.zeros((2, 30, 37, 2), np.float32)
    mask = np.zeros((2, 30, 37), np.float32)
    hint_ab[:, 5:8, 5:8], mask[:, 5:8, 5:8] = [30.0, -20.0], 1
    points = np.array([[0, 0], [29, 36], [6, 9], [15, 20]])
    full = colorizer.class_probabilities(lightness, hint_ab, mask)
    at = colorizer.class_probabilities(lightness, hint_ab, mask, points=points)
    assert at.shape == (2, 529, 4)
    np.testing.assert_allclose(at, full[:, :, points[:, 0], points[:, 1]], atol=1e-5)
    np.testing.assert_allclose(at.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(InputError, match="inside 30x37"):
        colorizer.class_probabilities(lightness, hint_ab, mask, points=np.array([[30, 0]]))
