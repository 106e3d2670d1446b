"""Chroma warping and temporal smoothing: identities, conventions, batch-size independence, cuts."""

from __future__ import annotations

import media
import numpy as np
import pytest
import torch

from vidcolor.errors import InputError
from vidcolor.options import TemporalOptions
from vidcolor.temporal.flow import compute_flow_pair, forward_backward_mask
from vidcolor.temporal.smooth import (
    TemporalState,
    flows_channels_first,
    flush,
    pair_weights,
    smooth,
    smooth_shot,
)
from vidcolor.temporal.warp import warp, warp_ab

BACKENDS = ["cv2", "kornia"]
SIZE = (64, 48)  # (width, height)


def shot(n: int, cuts=(), size=SIZE):
    """Gray frames of a generated clip, their flows as rows, and random model chroma."""
    gray = np.stack([media.pattern_frame(i, size, cuts=cuts) for i in range(n)])
    zero = np.zeros((size[1], size[0], 2), np.float32)
    pairs = [
        (zero, zero) if (i == 0 or i in cuts) else compute_flow_pair(gray[i - 1], gray[i])
        for i in range(n)
    ]
    fwd, bwd = flows_channels_first(np.stack([p[0] for p in pairs]),
                                    np.stack([p[1] for p in pairs]), "cpu")
    ab = torch.from_numpy(
        np.random.default_rng(0).normal(0, 20, (n, 2, size[1], size[0])).astype(np.float32)
    )
    return gray, (fwd, bwd), ab


def run_chunks(ab, gray, flows, options, chunk, new_shot=None):
    state = TemporalState()
    outs = []
    for s in range(0, len(ab), chunk):
        flags = None if new_shot is None else new_shot[s : s + chunk]
        out, state = smooth(
            ab[s : s + chunk],
            gray[s : s + chunk],
            (flows[0][s : s + chunk], flows[1][s : s + chunk]),
            state,
            options,
            new_shot=flags,
        )
        outs.append(out)
    rest, state = flush(state, options)
    if rest is not None:
        outs.append(rest)
    assert state.emitted == state.received == len(ab)
    return torch.cat(outs)


# --------------------------------------------------------------------------- warp


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_flow_is_exact_identity(backend):
    ab = torch.randn(3, 2, 17, 29) * 60
    out = warp_ab(ab, torch.zeros(3, 2, 17, 29), backend=backend)
    assert torch.equal(out, ab)


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_flow_shifts(backend):
    ab = torch.randn(2, 2, 20, 30) * 60
    flow = torch.zeros(2, 2, 20, 30)
    flow[:, 0] = 3.0  # out[..., x] = ab[..., x + 3]
    flow[:, 1] = -1.0  # out[..., y, :] = ab[..., y - 1, :]
    out = warp_ab(ab, flow, backend=backend)
    assert torch.allclose(out[:, :, 1:, :-3], ab[:, :, :-1, 3:], atol=1e-3)


def test_backends_agree_on_subpixel_flow():
    g = torch.Generator().manual_seed(0)
    up = torch.nn.functional.interpolate
    ab = up(torch.randn(2, 2, 6, 8, generator=g) * 40, size=(24, 32), mode="bilinear")
    flow = up(torch.randn(2, 2, 3, 4, generator=g) * 4, size=(24, 32), mode="bilinear")
    a = warp_ab(ab, flow, backend="cv2")
    b = warp_ab(ab, flow, backend="kornia")
    # cv2 quantizes bilinear weights to 1/32 pixel: tiny differences on smooth data only.
    # (|grad ab| reaches ~20 per pixel here, so 1/64 pixel is up to ~0.3.)
    assert (a - b).abs().max() < 1.0
    assert (a - b).abs().mean() < 0.15
    assert (a - ab).abs().mean() > 10 * (a - b).abs().mean()  # the warp did move things


def test_warp_convention_aligns_previous_frame():
    """Warping frame t-1 with the backward flow of (t-1, t) reproduces frame t."""
    rng = np.random.default_rng(7)
    import cv2

    big = cv2.resize(rng.integers(0, 256, (24, 32)).astype(np.float32), (128, 96))
    big = np.clip(big, 0, 255).astype(np.uint8)
    a, b = big[10:74, 10:106], big[12:76, 7:103]
    _, bwd = compute_flow_pair(a, b)
    img = torch.from_numpy(a.astype(np.float32))[None, None]
    out = warp(img, torch.from_numpy(bwd).permute(2, 0, 1)[None])[0, 0].numpy()
    err = np.abs(out - b)[8:-8, 8:-8].mean()
    assert err < 0.2 * np.abs(a.astype(np.float32) - b)[8:-8, 8:-8].mean()


def test_warp_rejects_bad_shapes():
    with pytest.raises(InputError, match="2 channels"):
        warp_ab(torch.zeros(1, 3, 4, 4), torch.zeros(1, 2, 4, 4))
    with pytest.raises(InputError, match="flow"):
        warp_ab(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5))
    with pytest.raises(InputError, match="backend"):
        warp_ab(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), backend="opengl")


def test_pair_weights_follow_numpy_consistency_mask():
    gray, (fwd, bwd), _ = shot(4)
    lp = torch.from_numpy(gray[2].astype(np.float32))[None]
    ln = torch.from_numpy(gray[3].astype(np.float32))[None]
    w_next, w_prev = pair_weights(lp, ln, fwd[3:4], bwd[3:4])
    mask_next = forward_backward_mask(
        bwd[3].permute(1, 2, 0).numpy(), fwd[3].permute(1, 2, 0).numpy()
    )
    mask_prev = forward_backward_mask(
        fwd[3].permute(1, 2, 0).numpy(), bwd[3].permute(1, 2, 0).numpy()
    )
    assert np.array_equal(w_next[0].numpy() > 0, mask_next)
    assert np.array_equal(w_prev[0].numpy() > 0, mask_prev)
    assert float(w_next.max()) <= 1.0 and float(w_next.min()) >= 0.0


# --------------------------------------------------------------------------- smooth


@pytest.mark.parametrize("window", [0, 2])
def test_output_does_not_depend_on_chunk_size(window):
    gray, flows, ab = shot(9)
    options = TemporalOptions(strength=0.8, window=window)
    whole = run_chunks(ab, gray, flows, options, chunk=9)
    assert whole.shape == ab.shape
    for chunk in (1, 3):
        assert torch.equal(run_chunks(ab, gray, flows, options, chunk), whole)
    assert torch.equal(smooth_shot(ab, gray, flows, options), whole)


def test_output_delay_is_the_window():
    gray, flows, ab = shot(6)
    out, state = smooth(
        ab[:4], gray[:4], (flows[0][:4], flows[1][:4]), TemporalState(), TemporalOptions(window=2)
    )
    assert out.shape[0] == 2 and state.emitted == 2 and state.received == 4 and state.in_shot
    out, state = smooth(
        ab[:4], gray[:4], (flows[0][:4], flows[1][:4]), TemporalState(), TemporalOptions(window=0)
    )
    assert out.shape[0] == 4


def test_zero_strength_and_disabled_are_identity():
    gray, flows, ab = shot(5)
    assert torch.equal(smooth_shot(ab, gray, flows, TemporalOptions(strength=0.0)), ab)
    assert torch.equal(smooth_shot(ab, gray, flows, TemporalOptions(enabled=False)), ab)


def test_first_frame_of_a_shot_ignores_its_flow_row():
    gray, (fwd, bwd), ab = shot(4)
    opts = TemporalOptions(window=0)
    a = smooth_shot(ab, gray, (fwd, bwd), opts)
    fwd2, bwd2 = fwd.clone(), bwd.clone()
    fwd2[0] = 99.0
    bwd2[0] = -7.0
    assert torch.equal(smooth_shot(ab, gray, (fwd2, bwd2), opts), a)
    assert torch.equal(a[0], ab[0])


@pytest.mark.parametrize("window", [0, 4])
def test_smoothing_removes_flicker_on_a_static_scene(window):
    n = 12
    gray = np.stack([media.pattern_frame(0, SIZE)] * n)
    zeros = torch.zeros(n, 2, SIZE[1], SIZE[0])
    rng = np.random.default_rng(1)
    true = rng.normal(0, 30, (1, 2, SIZE[1], SIZE[0])).astype(np.float32)
    noisy = torch.from_numpy(true + rng.normal(0, 10, (n, 2, SIZE[1], SIZE[0])).astype(np.float32))
    out = smooth_shot(noisy, gray, (zeros, zeros), TemporalOptions(strength=0.8, window=window))
    flicker_in = (noisy[1:] - noisy[:-1]).abs().mean()
    flicker_out = (out[1:] - out[:-1]).abs().mean()
    assert flicker_out < 0.5 * flicker_in
    assert (out - torch.from_numpy(true)).abs().mean() < 0.6 * (
        noisy - torch.from_numpy(true)
    ).abs().mean()


def test_smoothing_follows_motion_and_weight_falls_off_where_luma_changes():
    """A bright square moves; its color must travel with it, not stay behind."""
    gray, flows, _ = shot(6, size=(96, 64))
    n, h, w = gray.shape
    ab = torch.zeros(n, 2, h, w)
    ab[:, 0] = torch.from_numpy((gray > 200).astype(np.float32) * 60.0)  # chroma on the square
    out = smooth_shot(ab, gray, flows, TemporalOptions(strength=0.9, window=2))
    # Chroma stays on the square and does not smear onto background it left.
    on = torch.from_numpy(gray > 200)
    off = torch.from_numpy(gray < 150)
    assert out[:, 0][on].mean() > 50.0
    assert out[:, 0][off].abs().mean() < 3.0


def test_frames_on_either_side_of_a_cut_never_blend():
    cut = 5
    n = 10
    gray, flows, ab = shot(n, cuts=(cut,))
    opts = TemporalOptions(strength=1.0, window=3)
    flags = [i == cut for i in range(n)]
    out = run_chunks(ab, gray, flows, opts, chunk=4, new_shot=flags)
    # The same frames, smoothed as two separate shots, give the same result ...
    first = smooth_shot(ab[:cut], gray[:cut], (flows[0][:cut], flows[1][:cut]), opts)
    second = smooth_shot(ab[cut:], gray[cut:], (flows[0][cut:], flows[1][cut:]), opts)
    assert torch.equal(out, torch.cat([first, second]))
    # ... and changing everything on one side leaves the other side untouched.
    ab2 = ab.clone()
    ab2[:cut] = 100.0
    out2 = run_chunks(ab2, gray, flows, opts, chunk=4, new_shot=flags)
    assert torch.equal(out2[cut:], out[cut:])
    ab3 = ab.clone()
    ab3[cut:] = -100.0
    out3 = run_chunks(ab3, gray, flows, opts, chunk=3, new_shot=flags)
    assert torch.equal(out3[:cut], out[:cut])
    # Without the cut flag the same data does blend across (the test can fail).
    blended = run_chunks(ab2, gray, flows, opts, chunk=4)
    assert not torch.equal(blended[cut:], out[cut:])


def test_bad_options_and_shapes():
    gray, flows, ab = shot(3)
    with pytest.raises(InputError, match="strength"):
        smooth(ab, gray, flows, TemporalState(), TemporalOptions(strength=1.5))
    with pytest.raises(InputError, match="window"):
        smooth(ab, gray, flows, TemporalState(), TemporalOptions(window=-1))
    with pytest.raises(InputError, match="luma"):
        smooth(ab, gray[:2], flows, TemporalState(), TemporalOptions())
    with pytest.raises(InputError, match="new_shot"):
        smooth(ab, gray, flows, TemporalState(), TemporalOptions(), new_shot=[True])


# --------------------------------------------------------------------------- benchmark metrics


def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "temporal.py"
    spec = importlib.util.spec_from_file_location("bench_temporal", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _moving_rgb(n=6, h=48, w=64, step=2, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    big = cv2.resize(
        rng.integers(0, 256, (h // 4, (w + step * n) // 4, 3)).astype(np.float32), (w + step * n, h)
    )
    big = np.clip(big, 0, 255).astype(np.uint8)
    return np.stack(
        [big[:, step * (n - 1 - i) : step * (n - 1 - i) + w] for i in range(n)]
    )  # pans right


def test_warp_error_is_low_for_the_truth_and_rises_with_flicker():
    bench = _bench()
    gt = _moving_rgb()
    flows = bench.gt_flows(gt)
    e_gt = bench.warp_error(gt, flows)
    flicker = gt.astype(np.int16)
    flicker[1::2, ..., 0] += 40  # every other frame redder
    flicker = np.clip(flicker, 0, 255).astype(np.uint8)
    e_flicker = bench.warp_error(flicker, flows)
    assert e_gt < 2e-3
    assert e_flicker > 10 * e_gt
    # A static gray video is steady under the same flows only where the flow is ~0 ... but
    # a constant image is steady everywhere.
    const = np.full_like(gt, 100)
    assert bench.warp_error(const, flows) == 0.0


def test_warp_error_skips_pairs_across_cuts():
    bench = _bench()
    a, b = _moving_rgb(seed=1), _moving_rgb(seed=2)
    video = np.concatenate([a, b])
    flows = bench.gt_flows(video, cuts=[len(a)])
    assert flows[len(a) - 1] is None and sum(f is None for f in flows) == 1
    assert bench.warp_error(video, flows) < 2e-3


def test_cdc_and_js():
    bench = _bench()
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.0, 0.5, 0.5])
    assert bench.js_divergence(p, p) == 0.0
    assert bench.js_divergence(p, q) == pytest.approx(bench.js_divergence(q, p))
    assert bench.js_divergence(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(np.log(2))
    still = np.repeat(_moving_rgb()[:1], 8, axis=0)
    assert bench.cdc(still) == 0.0
    flicker = still.copy()
    flicker[1::2] = np.clip(flicker[1::2].astype(int) + 30, 0, 255).astype(np.uint8)
    assert bench.cdc(flicker, dilations=(1,)) > 0.05
    assert bench.cdc(flicker, dilations=(2, 4)) == 0.0  # same parity: same frames
    # Across a cut nothing is compared: two different still shots score 0.
    two = np.concatenate([still[:4], np.repeat(_moving_rgb(seed=3)[:1], 4, axis=0)])
    assert bench.cdc(two, cuts=[4]) == 0.0 and bench.cdc(two) > 0


def test_psnr_and_hint_points():
    bench = _bench()
    a = np.zeros((2, 4, 4, 3), np.uint8)
    b = a.copy()
    b[..., 0] = 255
    assert bench.psnr(a, a) == 99.0
    assert bench.psnr(a, b) == pytest.approx(10 * np.log10(3))
    gt0 = _moving_rgb(h=96, w=128)[0]
    data = bench.hint_points(gt0)
    assert data["version"] == 1 and data["frame"] == 0 and len(data["points"]) == 20
    for p in data["points"]:
        x, y = int(p["x"] * 128), int(p["y"] * 96)
        assert 0 < p["x"] < 1 and 0 < p["y"] < 1 and p["size"] == 0.0125
        assert np.abs(np.array(p["color"]) - gt0[y, x]).max() <= 60  # a patch mean near the pixel
