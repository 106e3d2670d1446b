"""The SIGGRAPH17 network: official layout at full width, width multiplier, I/O contract."""

from __future__ import annotations

import pytest
import torch

from vidcolor.errors import InputError
from vidcolor.models.siggraph17 import (
    SIGGRAPHGenerator,
    ab_to_bin,
    bin_to_ab,
    count_parameters,
)


def _official_table() -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of the official ``siggraph17-df00044c.pth``.

    Written out from richzhang/colorization ``colorizers/siggraph17.py``: each block is
    conv(+relu) repeated, then BatchNorm2d; model8/9/10 start with a ReLU (index 0).
    """
    table: dict[str, tuple[int, ...]] = {}

    def conv(name, cin, cout, k=3):
        table[f"{name}.weight"] = (cout, cin, k, k)
        table[f"{name}.bias"] = (cout,)

    def convt(name, cin, cout):
        table[f"{name}.weight"] = (cin, cout, 4, 4)
        table[f"{name}.bias"] = (cout,)

    def bn(name, c):
        for p in ("weight", "bias", "running_mean", "running_var"):
            table[f"{name}.{p}"] = (c,)
        table[f"{name}.num_batches_tracked"] = ()

    conv("model1.0", 4, 64), conv("model1.2", 64, 64), bn("model1.4", 64)
    conv("model2.0", 64, 128), conv("model2.2", 128, 128), bn("model2.4", 128)
    (
        conv("model3.0", 128, 256),
        conv("model3.2", 256, 256),
        conv("model3.4", 256, 256),
        bn("model3.6", 256),
    )
    (
        conv("model4.0", 256, 512),
        conv("model4.2", 512, 512),
        conv("model4.4", 512, 512),
        bn("model4.6", 512),
    )
    for blk in ("model5", "model6", "model7"):
        (
            conv(f"{blk}.0", 512, 512),
            conv(f"{blk}.2", 512, 512),
            conv(f"{blk}.4", 512, 512),
            bn(f"{blk}.6", 512),
        )
    convt("model8up.0", 512, 256)
    conv("model3short8.0", 256, 256)
    conv("model8.1", 256, 256), conv("model8.3", 256, 256), bn("model8.5", 256)
    convt("model9up.0", 256, 128)
    conv("model2short9.0", 128, 128)
    conv("model9.1", 128, 128), bn("model9.3", 128)
    convt("model10up.0", 128, 128)
    conv("model1short10.0", 64, 128)
    conv("model10.1", 128, 128)
    conv("model_class.0", 256, 529, k=1)
    conv("model_out.0", 128, 2, k=1)
    return table


def test_full_width_matches_official_names_and_shapes():
    sd = SIGGRAPHGenerator().state_dict()
    got = {k: tuple(v.shape) for k, v in sd.items()}
    assert got == _official_table()


def test_official_layout_state_dict_loads_strictly():
    src = SIGGRAPHGenerator()
    fake = {k: torch.randn(s) if s else torch.tensor(7) for k, s in _official_table().items()}
    src.load_state_dict(fake, strict=True)
    assert torch.equal(src.model_out[0].weight, fake["model_out.0.weight"])


def test_dilated_blocks_and_upsamplers():
    m = SIGGRAPHGenerator(width_mult=0.25)
    assert m.model5[0].dilation == (2, 2) and m.model6[4].dilation == (2, 2)
    assert m.model7[0].dilation == (1, 1)
    assert m.model8up[0].stride == (2, 2) and m.model8up[0].kernel_size == (4, 4)


def test_width_multiplier_scales_parameter_count():
    full = count_parameters(SIGGRAPHGenerator())
    quarter = count_parameters(SIGGRAPHGenerator(width_mult=0.25))
    assert 34_000_000 < full < 34_400_000
    # Convolutions scale with w^2; the 529-class and 2-ab heads scale with w only.
    assert full / 20 < quarter < full / 12
    m = SIGGRAPHGenerator(width_mult=0.25)
    assert m.model4[0].out_channels == 128 and m.model_class[0].out_channels == 529
    assert m.model_out[0].out_channels == 2


def test_extra_inputs_widen_first_conv_only():
    a = SIGGRAPHGenerator(width_mult=0.25).state_dict()
    b = SIGGRAPHGenerator(width_mult=0.25, extra_inputs=3, residual=True).state_dict()
    assert a.keys() == b.keys()
    assert b["model1.0.weight"].shape[1] == 7
    assert all(a[k].shape == b[k].shape for k in a if k != "model1.0.weight")


@pytest.mark.parametrize("extra", [0, 3])
def test_output_shape_range_and_logits(extra):
    torch.manual_seed(0)
    m = SIGGRAPHGenerator(width_mult=0.25, extra_inputs=extra, residual=extra > 0).eval()
    for p in m.model_out.parameters():  # make the head non-trivial so the range is exercised
        torch.nn.init.normal_(p, std=5.0)
    L = torch.rand(2, 1, 48, 64) * 100
    ab = torch.zeros(2, 2, 48, 64)
    mask = torch.zeros(2, 1, 48, 64)
    ex = torch.randn(2, extra, 48, 64) * 200 if extra else None
    with torch.no_grad():
        out, logits = m.forward_with_logits(L, ab, mask, ex)
    assert out.shape == (2, 2, 48, 64)
    assert out.abs().max() <= 110.0 + 1e-4
    assert out.abs().max() > 50.0
    assert logits.shape == (2, 529, 48, 64)


def test_residual_net_starts_at_the_base():
    m = SIGGRAPHGenerator(width_mult=0.25, extra_inputs=3, residual=True).eval()
    L = torch.rand(1, 1, 32, 32) * 100
    base = torch.randn(1, 2, 32, 32) * 30
    ex = torch.cat([base, torch.rand(1, 1, 32, 32)], 1)
    with torch.no_grad():
        out = m(L, torch.zeros(1, 2, 32, 32), torch.zeros(1, 1, 32, 32), ex)
    torch.testing.assert_close(out, base.clamp(-110, 110), atol=1e-4, rtol=1e-5)


def test_bad_shapes_are_input_errors():
    m = SIGGRAPHGenerator(width_mult=0.25)
    with pytest.raises(InputError, match="multiples of 8"):
        m(torch.zeros(1, 1, 30, 32), torch.zeros(1, 2, 30, 32), torch.zeros(1, 1, 30, 32))
    with pytest.raises(InputError, match="hint_ab"):
        m(torch.zeros(1, 1, 32, 32), torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 32, 32))
    with pytest.raises(InputError, match="residual"):
        SIGGRAPHGenerator(extra_inputs=1, residual=True)


def test_ab_bins_round_trip_on_grid_centres():
    idx = torch.arange(529)
    centres = bin_to_ab(idx)  # (529, 2)
    assert centres.min() == -110 and centres.max() == 110
    back = ab_to_bin(centres.T.reshape(1, 2, 23, 23))
    assert torch.equal(back.flatten(), idx)
    assert ab_to_bin(torch.tensor([[[[4.9]], [[-5.1]]]])).item() == 11 * 23 + 10


def test_head_version_2_differs_from_version_1_only_in_the_head():
    v1 = SIGGRAPHGenerator(width_mult=0.25, extra_inputs=4, residual=True).state_dict()
    v2 = SIGGRAPHGenerator(width_mult=0.25, extra_inputs=4, residual=True,
                           class_head_version=2).state_dict()
    trunk1 = {k: v.shape for k, v in v1.items() if not k.startswith("model_class.")}
    trunk2 = {k: v.shape for k, v in v2.items() if not k.startswith("model_class.")}
    assert trunk1 == trunk2
    assert v2["model_class.hidden.weight"].shape == (64, 64 + 9, 3, 3)
    assert v2["model_class.logits.weight"].shape == (529, 64, 1, 1)
    assert v2["model_class.gate.weight"].shape == (1, 64, 1, 1)
    assert not any(k.startswith("model_class.centers") for k in v2)  # fixed, not saved
    with pytest.raises(InputError, match="class_head_version"):
        SIGGRAPHGenerator(width_mult=0.25, class_head_version=3)


def test_head_version_2_sees_the_chroma_and_never_pulls_the_trunk():
    torch.manual_seed(0)
    kwargs = dict(width_mult=0.25, extra_inputs=4, residual=True)
    v1 = SIGGRAPHGenerator(**kwargs).eval()
    v2 = SIGGRAPHGenerator(**kwargs, class_head_version=2).eval()
    trunk = {k: v for k, v in v1.state_dict().items() if not k.startswith("model_class.")}
    v2.load_state_dict(trunk, strict=False)
    L = torch.rand(1, 1, 32, 32) * 100
    hint_ab, mask = torch.zeros(1, 2, 32, 32), torch.zeros(1, 1, 32, 32)
    extra = torch.cat([torch.randn(1, 2, 32, 32) * 30, torch.rand(1, 2, 32, 32)], 1)
    with torch.no_grad():
        ab1, feat1 = v1.forward_features(L, hint_ab, mask, extra)
        ab2, feat2 = v2.forward_features(L, hint_ab, mask, extra)
        assert torch.equal(ab1, ab2) and torch.equal(feat1, feat2)  # same trunk, same output
        other_ab = ab2 + 40.0
        for model, sees in ((v1, False), (v2, True)):
            a = model.class_head(feat2, ab2, hint_ab, mask, extra)
            b = model.class_head(feat2, other_ab, hint_ab, mask, extra)
            assert a.shape == (1, 529, 8, 8)
            assert (not torch.equal(a, b)) == sees
    v2.train()
    ab, feat = v2.forward_features(L, hint_ab, mask, extra)
    v2.class_head(feat, ab, hint_ab, mask, extra).square().mean().backward()
    assert all(p.grad is None for n, p in v2.named_parameters() if not n.startswith("model_class"))
    assert v2.model_class.hidden.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("version", [1, 2])
def test_logits_at_points_equal_the_upsampled_map(version):
    torch.manual_seed(3)
    m = SIGGRAPHGenerator(width_mult=0.25, extra_inputs=4, residual=True,
                          class_head_version=version).eval()
    for p in m.parameters():  # a non-trivial head and trunk
        torch.nn.init.normal_(p, std=0.2)
    L = torch.rand(2, 1, 40, 48) * 100
    ab, mask = torch.randn(2, 2, 40, 48) * 20, (torch.rand(2, 1, 40, 48) > 0.9).float()
    extra = torch.cat([torch.randn(2, 2, 40, 48) * 30, torch.rand(2, 2, 40, 48)], 1)
    points = torch.tensor([[0, 0], [39, 47], [17, 5], [2, 46], [38, 1], [21, 22]])
    with torch.no_grad():
        full = m.class_logits(L, ab, mask, extra)
        at = m.class_logits_at(L, ab, mask, extra, points)
    assert at.shape == (2, 529, 6)
    torch.testing.assert_close(at, full[:, :, points[:, 0], points[:, 1]], atol=1e-4, rtol=1e-4)
