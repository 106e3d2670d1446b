"""The OpenVINO backend runs the same network as torch, to within 0.5 ab units."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vidcolor.errors import InputError
from vidcolor.models import openvino_net
from vidcolor.models.inference import HintColorizer, openvino_precision, select_backend


def _frames(n: int = 3, h: int = 120, w: int = 200):
    rng = np.random.default_rng(1)
    light = np.stack([cv2.GaussianBlur(x, (0, 0), 3)
                      for x in rng.uniform(0, 100, (n, h, w)).astype(np.float32)])
    ab = np.zeros((n, h, w, 2), np.float32)
    mask = np.zeros((n, h, w), np.float32)
    ab[:, 30:34, 50:54] = (40, -30)
    mask[:, 30:34, 50:54] = 1
    ab[:, 90:93, 150:153] = (-20, 50)
    mask[:, 90:93, 150:153] = 1
    return light, ab, mask


@pytest.fixture(scope="module")
def torch_ab():
    return HintColorizer("default", device="cpu", backend="torch").predict_ab(*_frames())


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_openvino_matches_torch_and_ignores_batch_size(precision, torch_ab, tmp_path,
                                                        monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    colorizer = HintColorizer("default", device="cpu", backend="openvino",
                              precision=precision, batch_size=3)
    assert colorizer.backend == "openvino" and colorizer.precision == precision
    light, ab, mask = _frames()
    out = colorizer.predict_ab(light, ab, mask)
    assert out.shape == torch_ab.shape == (3, 120, 200, 2)
    assert np.abs(out - torch_ab).max() <= (1e-3 if precision == "fp32" else 0.5)
    # The hints land: the output at a hint is the hint's colour, as on torch.
    assert np.abs(out[:, 31, 51] - (40, -30)).max() < 8
    one_by_one = np.concatenate([colorizer.predict_ab(light[i:i + 1], ab[i:i + 1],
                                                      mask[i:i + 1]) for i in range(3)])
    assert np.array_equal(one_by_one, out)


def test_converted_network_is_cached_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    import openvino as ov

    calls = []
    real = ov.convert_model
    monkeypatch.setattr(ov, "convert_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = HintColorizer("default", device="cpu", backend="openvino", precision="fp32")
    cached = sorted(p.suffix for p in (tmp_path / "vidcolor" / "openvino").iterdir())
    assert cached == [".bin", ".xml"] and len(calls) == 1
    second = HintColorizer("default", device="cpu", backend="openvino", precision="fp32")
    assert len(calls) == 1  # read from the cache, not converted again
    light, ab, mask = _frames(1)
    assert np.array_equal(first.predict_ab(light, ab, mask), second.predict_ab(light, ab, mask))


def test_cache_key_follows_the_weights():
    model = HintColorizer("default", device="cpu", backend="torch").model
    before = openvino_net.network_digest(model)
    with torch.no_grad():
        next(model.parameters()).add_(1e-3)
    assert openvino_net.network_digest(model) != before


def test_backend_choice():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert select_backend("auto", cpu, available=lambda: True) == "openvino"
    assert select_backend("auto", cpu, available=lambda: False) == "torch"
    assert select_backend("auto", cuda, available=lambda: True) == "torch"
    assert select_backend("torch", cpu, available=lambda: True) == "torch"
    with pytest.raises(InputError, match="not installed"):
        select_backend("openvino", cpu, available=lambda: False)
    with pytest.raises(InputError, match="--device cpu"):
        select_backend("openvino", cuda, available=lambda: True)
    with pytest.raises(InputError, match="backend"):
        select_backend("onnx", cpu)
    assert openvino_precision("auto", native=lambda: True) == "bf16"
    assert openvino_precision("auto", native=lambda: False) == "fp32"
    assert openvino_precision("fp32", native=lambda: True) == "fp32"


def test_options_reach_the_network(tmp_path, monkeypatch):
    from vidcolor import api

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert api.Colorizer(device="cpu").model.model.backend == "openvino"  # auto, installed
    assert api.Colorizer(device="cpu", backend="torch").model.model.backend == "torch"
    with pytest.raises(InputError, match="backend"):
        api.build_options(backend="onnx")
