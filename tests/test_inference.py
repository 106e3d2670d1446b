"""HintColorizer: contract wiring, padding, batch independence, device/precision choice, OOM."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from vidcolor.errors import InputError, WeightsError
from vidcolor.models import inference, registry, weights
from vidcolor.models.inference import HintColorizer, select_device, select_dtype
from vidcolor.models.propagate import CHANNELS, propagate_batch
from vidcolor.models.registry import WeightsEntry
from vidcolor.models.siggraph17 import SIGGRAPHGenerator

PROPAGATION = WeightsEntry(
    name="q-prop", file="q.safetensors", sha256="", license="MIT", source="test",
    location="cache", width_mult=0.125, extra_inputs=CHANNELS, extra="propagation",
    residual=True,
)
PLAIN = replace(PROPAGATION, name="q-plain", extra_inputs=0, extra=None, residual=False)


@pytest.fixture(autouse=True)
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def random_model(entry: WeightsEntry, seed: int = 0) -> SIGGRAPHGenerator:
    torch.manual_seed(seed)
    model = weights.build_model(entry)
    with torch.no_grad():  # non-trivial BatchNorm statistics and a live output layer
        for name, t in model.state_dict().items():
            if name.endswith("running_mean"):
                t.uniform_(-0.1, 0.1)
            elif name.endswith("running_var"):
                t.uniform_(0.5, 1.5)
        model.model_out[0].weight.normal_(0, 0.05)
    return model


def frames(b: int, h: int, w: int, n_hints: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    lightness = np.stack([
        (50 + 30 * np.sin(xx / (5 + i)) * np.cos(yy / 7) + rng.normal(0, 2, (h, w)))
        for i in range(b)]).clip(0, 100).astype(np.float32)
    hint_ab = np.zeros((b, h, w, 2), np.float32)
    mask = np.zeros((b, h, w), np.float32)
    for i in range(b):
        ys, xs = rng.integers(0, h, n_hints), rng.integers(0, w, n_hints)
        hint_ab[i, ys, xs] = rng.uniform(-60, 60, (n_hints, 2))
        mask[i, ys, xs] = 1
    return lightness, hint_ab, mask


# ------------------------------------------------------------------ device and precision


def test_device_auto_picks_cuda_only_when_available():
    assert select_device("auto", cuda_available=lambda: True) == torch.device("cuda")
    assert select_device("auto", cuda_available=lambda: False) == torch.device("cpu")
    assert select_device("cuda:1", cuda_available=lambda: True) == torch.device("cuda:1")
    assert select_device("cpu", cuda_available=lambda: True) == torch.device("cpu")
    with pytest.raises(InputError, match="CUDA is not available") as err:
        select_device("cuda", cuda_available=lambda: False)
    assert err.value.field == "device"
    with pytest.raises(InputError, match="expected one of"):
        select_device("tpu")


def test_precision_choice():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert select_dtype("auto", cuda, bf16_supported=lambda: True) == torch.bfloat16
    assert select_dtype("auto", cuda, bf16_supported=lambda: False) == torch.float16
    assert select_dtype("fp16", cuda) == torch.float16
    assert select_dtype("auto", cpu) == torch.float32
    assert select_dtype("bf16", cpu) == torch.bfloat16
    assert select_dtype("fp32", cuda) == torch.float32
    with pytest.raises(InputError):
        select_dtype("fp16", cpu)
    with pytest.raises(InputError):
        select_dtype("int8", cpu)


def test_threads_are_set_on_cpu():
    HintColorizer.from_model(random_model(PLAIN), PLAIN, device="cpu", threads=1)
    assert torch.get_num_threads() == 1
    torch.set_num_threads(64)
    HintColorizer.from_model(random_model(PLAIN), PLAIN, device="cpu")
    assert torch.get_num_threads() == inference.cpu_threads()


# ------------------------------------------------------------------ predictions


def test_untrained_residual_net_returns_the_propagation_at_odd_sizes():
    """Zero-initialised output + residual: the result is exactly the propagated hints,
    which proves the extra input is computed from the inputs and padding is cropped away."""
    model = weights.build_model(PROPAGATION)  # model_out starts at zero
    colorizer = HintColorizer.from_model(model, PROPAGATION, device="cpu", batch_size=2)
    lightness, hint_ab, mask = frames(3, 37, 53)
    out = colorizer.predict_ab(lightness, hint_ab, mask)
    assert out.shape == (3, 37, 53, 2) and out.dtype == np.float32
    expected = np.clip(propagate_batch(lightness, hint_ab, mask)[..., :2], -110, 110)
    np.testing.assert_allclose(out, expected, atol=1e-3)
    assert np.abs(out).max() > 10  # the hints did spread


def test_batch_size_does_not_change_results():
    lightness, hint_ab, mask = frames(3, 40, 48)
    model = random_model(PROPAGATION)
    one = HintColorizer.from_model(model, PROPAGATION, device="cpu", batch_size=1)
    three = HintColorizer.from_model(model, PROPAGATION, device="cpu", batch_size=3)
    a = one.predict_ab(lightness, hint_ab, mask)
    b = three.predict_ab(lightness, hint_ab, mask)
    assert np.abs(a).max() > 1  # not a constant output
    np.testing.assert_allclose(a, b, atol=1e-3)
    # Frame 1 alone equals frame 1 inside the batch.
    np.testing.assert_allclose(three.predict_ab(lightness[1:2], hint_ab[1:2], mask[1:2])[0],
                               b[1], atol=1e-3)


def test_hints_change_the_prediction_where_they_are():
    model = random_model(PLAIN, seed=3)
    colorizer = HintColorizer.from_model(model, PLAIN, device="cpu")
    lightness, hint_ab, mask = frames(1, 32, 32, n_hints=0)
    base = colorizer.predict_ab(lightness, hint_ab, mask)
    hint_ab[0, 10:14, 10:14] = [80, -80]
    mask[0, 10:14, 10:14] = 1
    hinted = colorizer.predict_ab(lightness, hint_ab, mask)
    diff = np.abs(hinted - base).sum(-1)[0]
    assert diff[10:14, 10:14].mean() > diff[24:, 24:].mean()


def test_torch_variant_matches_numpy():
    model = random_model(PROPAGATION)
    colorizer = HintColorizer.from_model(model, PROPAGATION, device="cpu")
    lightness, hint_ab, mask = frames(2, 24, 40)
    out = colorizer.predict_ab_torch(torch.from_numpy(lightness)[:, None],
                                     torch.from_numpy(hint_ab).permute(0, 3, 1, 2),
                                     torch.from_numpy(mask)[:, None])
    assert out.shape == (2, 2, 24, 40) and out.dtype == torch.float32
    np.testing.assert_allclose(out.permute(0, 2, 3, 1).numpy(),
                               colorizer.predict_ab(lightness, hint_ab, mask), atol=1e-5)
    with pytest.raises(InputError, match="hint_ab"):
        colorizer.predict_ab_torch(torch.zeros(1, 1, 8, 8), torch.zeros(1, 3, 8, 8),
                                   torch.zeros(1, 1, 8, 8))


def test_no_autograd_and_eval_mode():
    model = random_model(PLAIN).train()
    colorizer = HintColorizer.from_model(model, PLAIN, device="cpu")
    assert not colorizer.model.training
    out = colorizer._run(colorizer._forward, colorizer._prepare(*frames(1, 16, 16))[0])
    assert not out.requires_grad


@pytest.mark.parametrize(
    ("shapes", "field"),
    [
        (((2, 16, 16), (2, 16, 16, 2), (2, 16, 16)), None),
        (((16, 16), (16, 16, 2), (16, 16)), "lightness"),
        (((2, 16, 16), (2, 16, 16, 3), (2, 16, 16)), "hint_ab"),
        (((2, 16, 16), (2, 16, 16, 2), (1, 16, 16)), "hint_mask"),
    ],
)
def test_shape_errors(shapes, field):
    colorizer = HintColorizer.from_model(random_model(PLAIN), PLAIN, device="cpu")
    arrays = [np.zeros(s, np.float32) for s in shapes]
    if field is None:
        assert colorizer.predict_ab(*arrays).shape == (2, 16, 16, 2)
        assert colorizer.predict_ab(*[a[:0] for a in arrays]).shape == (0, 16, 16, 2)
    else:
        with pytest.raises(InputError) as err:
            colorizer.predict_ab(*arrays)
        assert err.value.field == field


# ------------------------------------------------------------------ out of memory


class OOMAbove(torch.nn.Module):
    """Wraps a model and fails like CUDA does when a batch is larger than ``limit``."""

    def __init__(self, model, limit, error=torch.cuda.OutOfMemoryError):
        super().__init__()
        self.model, self.limit, self.error = model, limit, error
        self.sizes: list[int] = []

    def forward(self, lightness, *args):
        self.sizes.append(lightness.shape[0])
        if lightness.shape[0] > self.limit:
            raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.model(lightness, *args)


def test_oom_halves_the_batch_and_keeps_results():
    model = random_model(PROPAGATION)
    lightness, hint_ab, mask = frames(5, 24, 24)
    reference = HintColorizer.from_model(model, PROPAGATION, device="cpu", batch_size=1
                                         ).predict_ab(lightness, hint_ab, mask)
    flaky = OOMAbove(model, limit=2)
    colorizer = HintColorizer.from_model(flaky, PROPAGATION, device="cpu", batch_size=8)
    out = colorizer.predict_ab(lightness, hint_ab, mask)
    np.testing.assert_allclose(out, reference, atol=1e-3)
    assert flaky.sizes == [5, 2, 2, 1]  # 5 fails, then halves to 2 and stays there
    assert colorizer.batch_size == 2
    flaky.sizes.clear()
    colorizer.predict_ab(lightness, hint_ab, mask)
    assert flaky.sizes == [2, 2, 1]  # the smaller batch is remembered


def test_oom_at_batch_one_and_other_errors_propagate():
    model = random_model(PLAIN)
    lightness, hint_ab, mask = frames(2, 16, 16)
    colorizer = HintColorizer.from_model(OOMAbove(model, limit=0), PLAIN, device="cpu")
    with pytest.raises(torch.cuda.OutOfMemoryError):
        colorizer.predict_ab(lightness, hint_ab, mask)
    generic = OOMAbove(model, limit=0, error=ValueError)
    colorizer = HintColorizer.from_model(generic, PLAIN, device="cpu", batch_size=4)
    with pytest.raises(ValueError):
        colorizer.predict_ab(lightness, hint_ab, mask)
    assert generic.sizes == [2] and colorizer.batch_size == 4  # not retried, not halved
    # Old-style RuntimeError messages count as out-of-memory too.
    legacy = OOMAbove(model, limit=1, error=RuntimeError)
    colorizer = HintColorizer.from_model(legacy, PLAIN, device="cpu", batch_size=2)
    assert colorizer.predict_ab(lightness, hint_ab, mask).shape == (2, 16, 16, 2)
    assert legacy.sizes == [2, 1, 1]


def test_unknown_propagation_settings_are_a_weights_error():
    entry = replace(PROPAGATION, propagation=(("no_such_setting", 1.0),))
    with pytest.raises(WeightsError) as err:
        HintColorizer.from_model(random_model(PROPAGATION), entry, device="cpu")
    assert err.value.field == "propagation"
    entry = replace(PROPAGATION, propagation=(("local_lambda", 50.0),))
    colorizer = HintColorizer.from_model(random_model(PROPAGATION), entry, device="cpu")
    assert colorizer.predict_ab(*frames(1, 16, 16)).shape == (1, 16, 16, 2)


def test_bad_batch_size():
    with pytest.raises(InputError) as err:
        HintColorizer.from_model(random_model(PLAIN), PLAIN, device="cpu", batch_size=0)
    assert err.value.field == "batch_size"


# ------------------------------------------------------------------ weights from disk


def test_colorizer_loads_registered_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model = random_model(PROPAGATION)
    sha = weights.save_weights(model, PROPAGATION,
                               registry.user_weights_dir() / PROPAGATION.file)
    registry.register_weights(replace(PROPAGATION, sha256=sha))
    colorizer = HintColorizer("q-prop", device="cpu", batch_size=2, backend="torch")
    direct = HintColorizer.from_model(model, PROPAGATION, device="cpu")
    args = frames(2, 16, 24)
    np.testing.assert_allclose(colorizer.predict_ab(*args), direct.predict_ab(*args), atol=1e-5)
    with pytest.raises(WeightsError):
        HintColorizer("not-registered", device="cpu")


def test_resize_hints_keeps_single_pixel_hints():
    ab = np.zeros((100, 60, 2), np.float32)
    mask = np.zeros((100, 60), np.float32)
    ab[51, 17] = [40, -20]
    mask[51, 17] = 1
    small_ab, small_mask = inference.resize_hints(ab, mask, 24, 16)
    assert small_mask.sum() >= 1 and set(np.unique(small_mask)) <= {0.0, 1.0}
    np.testing.assert_allclose(small_ab[small_mask > 0], [[40, -20]] * int(small_mask.sum()),
                               atol=1e-3)
