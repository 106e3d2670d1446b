"""The Python API: colorize_image / colorize_frames / colorize_video, Colorizer, options."""

from __future__ import annotations

import json

import cv2
import media
import numpy as np
import pytest
from test_run import random_colorizer, random_hint_colorizer

import vidcolor
from vidcolor import api, run
from vidcolor.color import gray_to_lightness, rgb_to_lab
from vidcolor.errors import HintError, InputError
from vidcolor.hints.format import parse_hints

HINT = {"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "#d02020", "size": 0.3}]}


@pytest.fixture(scope="module")
def colorizer():
    return random_colorizer()


def lightness_error(gray: np.ndarray, rgb: np.ndarray) -> float:
    """Mean |L_out - L_in| in Lab units."""
    return float(np.abs(rgb_to_lab(rgb)[..., 0] - gray_to_lightness(gray)).mean())


def test_public_names():
    for name in ("colorize_video", "colorize_frames", "colorize_image", "Colorizer",
                 "Cancelled", "RunReport", "ColoredFrame"):
        assert getattr(vidcolor, name) is not None
    with pytest.raises(AttributeError):
        vidcolor.no_such_name  # noqa: B018


def test_image_shapes_dtype_and_lightness(colorizer):
    gray = media.pattern_frame(2, (53, 37))
    out = colorizer.colorize_image(gray)
    assert out.shape == (37, 53, 3) and out.dtype == np.uint8
    assert lightness_error(gray, out) < 2.0
    rgb_in = np.repeat(gray[..., None], 3, axis=2)
    np.testing.assert_array_equal(colorizer.colorize_image(rgb_in), out)


def test_image_from_path(colorizer, tmp_path):
    gray = media.pattern_frame(1, (40, 30))
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), gray)
    np.testing.assert_array_equal(colorizer.colorize_image(path), colorizer.colorize_image(gray))


def test_image_hints_every_form_gives_the_same_result(colorizer, tmp_path):
    gray = media.pattern_frame(0, (64, 48))
    path = tmp_path / "hint.json"
    path.write_text(json.dumps(HINT))
    by_path = colorizer.colorize_image(gray, hints=path)
    by_dict = colorizer.colorize_image(gray, hints=HINT)
    by_obj = colorizer.colorize_image(gray, hints=parse_hints(HINT, frame=0))
    np.testing.assert_array_equal(by_path, by_dict)
    np.testing.assert_array_equal(by_path, by_obj)
    assert not np.array_equal(by_path, colorizer.colorize_image(gray))  # hints matter


def test_image_bad_inputs(colorizer, tmp_path):
    with pytest.raises(InputError, match="uint8"):
        colorizer.colorize_image(np.zeros((8, 8), np.float32))
    with pytest.raises(InputError, match="shape"):
        colorizer.colorize_image(np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(HintError, match=r"points\[0\]\.x"):
        colorizer.colorize_image(np.zeros((8, 8), np.uint8),
                                 hints={"version": 1, "points": [{"x": 3, "y": 0, "ab": [0, 0]}]})
    with pytest.raises(InputError):
        colorizer.colorize_image(tmp_path / "missing.png")


def test_frames_in_order_and_lightness_kept(colorizer):
    grays = [media.pattern_frame(i, (64, 48), cuts=(8,)) for i in range(14)]
    outs = list(colorizer.colorize_frames(iter(grays)))
    assert len(outs) == 14
    for gray, out in zip(grays, outs, strict=True):
        assert out.shape == (48, 64, 3) and out.dtype == np.uint8
        assert lightness_error(gray, out) < 2.0


def test_frames_is_a_lazy_generator(colorizer):
    pulled = []

    def source():
        for i in range(20):
            pulled.append(i)
            yield media.pattern_frame(i, (64, 48), cuts=(8,))

    gen = colorizer.colorize_frames(source())
    first = next(gen)
    assert first.shape == (48, 64, 3)
    assert len(pulled) < 20  # the first shot came out before the input was exhausted
    gen.close()


def test_frames_match_per_shot_and_hints(colorizer):
    grays = [media.pattern_frame(i, (64, 48)) for i in range(8)]
    plain = list(colorizer.colorize_frames(grays))
    hinted = list(colorizer.colorize_frames(grays, hints={3: HINT | {"frame": 3}}))
    assert not np.array_equal(plain[3], hinted[3])
    again = list(colorizer.colorize_frames(grays, hints={3: parse_hints(HINT, frame=3)}))
    np.testing.assert_array_equal(hinted[3], again[3])


def test_frames_size_change_refused(colorizer):
    frames = [np.zeros((48, 64), np.uint8), np.zeros((48, 62), np.uint8)]
    with pytest.raises(InputError, match="frame 1"):
        list(colorizer.colorize_frames(frames))


def test_frames_temporal_off_is_per_frame(colorizer):
    """Without temporal smoothing a frame's color depends on that frame alone."""
    grays = [media.pattern_frame(i, (64, 48)) for i in range(6)]
    seq = list(colorizer.colorize_frames(grays, temporal=False))
    single = colorizer.colorize_image(grays[4])
    assert np.abs(seq[4].astype(int) - single.astype(int)).max() <= 1


def test_video_options_are_checked(colorizer, make_clip, tmp_path):
    src = make_clip("in.mp4", frames=6)
    with pytest.raises(InputError, match="temporal_strength"):
        colorizer.colorize_video(src, tmp_path / "o.mp4", temporal_strength=3)
    with pytest.raises(InputError, match="unknown option"):
        colorizer.colorize_video(src, tmp_path / "o.mp4", colour="red")
    with pytest.raises(InputError, match="device"):
        api.build_options(device="tpu")
    assert not (tmp_path / "o.mp4").exists()


def test_video_default_output_and_hints_dir(colorizer, make_clip, tmp_path):
    src = make_clip("film.mp4", frames=10)
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "4.json").write_text(json.dumps(HINT))
    report = colorizer.colorize_video(src, hints=hints)
    assert report.output == str(tmp_path / "film_color.mp4")
    assert report.frames == 10


def test_module_functions_use_one_cached_colorizer(monkeypatch):
    loads = []

    def fake_load(options):
        loads.append(options)
        return run.ChromaModel(random_hint_colorizer())

    api.default_colorizer.cache_clear()
    monkeypatch.setattr(run, "load_model", fake_load)
    try:
        gray = media.pattern_frame(0, (32, 24))
        a = vidcolor.colorize_image(gray, device="cpu")
        b = vidcolor.colorize_image(gray, device="cpu")
        frames = list(vidcolor.colorize_frames([gray, gray], device="cpu"))
        assert len(loads) == 1
        np.testing.assert_array_equal(a, b)
        assert len(frames) == 2
    finally:
        api.default_colorizer.cache_clear()


def test_colorize_video_applies_other_weights_and_a_wrapped_model_refuses_them(
        colorizer, make_clip, tmp_path):
    from test_run import WORKING_SIZE, random_weights_file

    src = make_clip("in.mp4", frames=6)
    first = random_weights_file(tmp_path / "a.safetensors", seed=1)
    second = random_weights_file(tmp_path / "b.safetensors", seed=2)
    with pytest.raises(InputError, match="from_model"):
        colorizer.colorize_video(src, tmp_path / "o.mp4", weights=str(first))
    assert not (tmp_path / "o.mp4").exists()

    def frames(c, dst, **options):
        got = []
        c.colorize_video(src, dst, on_frame=lambda f: got.append(f.color), **options)
        return np.stack(got)

    loaded = api.Colorizer(first, "cpu", working_size=WORKING_SIZE)
    own = frames(loaded, tmp_path / "a.mp4")
    other = frames(loaded, tmp_path / "b.mp4", weights=str(second))
    reference = frames(api.Colorizer(second, "cpu", working_size=WORKING_SIZE),
                       tmp_path / "ref.mp4")
    assert np.array_equal(other, reference)  # the options named b.safetensors: it ran
    assert not np.array_equal(other, own)
    assert loaded.options.model.weights == str(first)  # the colorizer kept its own model


def test_image_and_suggestions_see_the_same_working_size(tmp_path):
    from test_palette import rigged

    from vidcolor.frames import working_shape

    network = rigged({(20.0, 30.0): 6.0})
    seen = {}
    real_predict, real_probs = network.predict_ab, network.class_probabilities

    def predict_ab(lightness, *args):
        seen["image"] = lightness.shape[1:]
        return real_predict(lightness, *args)

    def class_probabilities(lightness, *args, **kwargs):
        seen["suggest"] = lightness.shape[1:]
        return real_probs(lightness, *args, **kwargs)

    network.predict_ab, network.class_probabilities = predict_ab, class_probabilities
    c = api.Colorizer.from_model(network, working_size=64)
    for shape in ((90, 120), (40, 56)):  # larger than the working size, and smaller
        gray = np.full(shape, 120, np.uint8)
        c.colorize_image(gray)
        c.suggest_colors(gray, 0.5, 0.5)
        assert seen["image"] == seen["suggest"] == working_shape(*shape, 64)
    assert seen["image"] == (40, 56)  # a small picture is never enlarged
