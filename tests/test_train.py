"""Simulated hints, the hint propagation and the trainer (tiny runs on generated images)."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from vidcolor.errors import InputError
from vidcolor.models.propagate import CHANNELS, propagate_hints
from vidcolor.models.simulate import HintSampler, place_patches
from vidcolor.train import (
    TrainConfig,
    export_weights,
    lr_at,
    random_crop,
    train,
    train_batch,
)

# ------------------------------------------------------------------ simulated users


def test_point_count_is_geometric_from_zero():
    rng = np.random.default_rng(0)
    counts = np.array([HintSampler().count(rng) for _ in range(8000)])
    assert counts.min() == 0
    assert abs((counts == 0).mean() - 1 / 8) < 0.015  # P(0) = p
    assert abs(counts.mean() - 7.0) < 0.4  # mean (1 - p) / p


def test_dense_share_reaches_large_counts():
    rng = np.random.default_rng(1)
    sampler = HintSampler(dense_share=1.0, max_points=200)
    counts = np.array([sampler.count(rng) for _ in range(2000)])
    assert counts.max() > 100 and counts.min() >= 1 and counts.max() <= 200


def test_patches_hold_the_patch_mean_and_mask():
    rng = np.random.default_rng(2)
    ab = rng.normal(0, 30, size=(40, 50, 2)).astype(np.float32)
    hint, mask = place_patches(ab, np.array([5]), rng)
    ys, xs = np.nonzero(mask)
    assert mask.sum() == 25 and np.ptp(ys) == 4 and np.ptp(xs) == 4
    region = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    np.testing.assert_allclose(
        hint[region], np.broadcast_to(ab[region].mean((0, 1)), (5, 5, 2)), rtol=1e-5, atol=1e-4
    )
    assert not hint[mask == 0].any()


def test_gaussian_locations_cluster_at_the_centre():
    rng = np.random.default_rng(3)
    ab = np.zeros((101, 101, 2), np.float32)
    hits = np.zeros((101, 101))
    for _ in range(300):
        hits += place_patches(ab, np.array([1]), rng, gaussian=True)[1]
    ys, xs = np.nonzero(hits)
    assert abs(np.average(ys, weights=hits[ys, xs]) - 50) < 5
    centre = hits[25:76, 25:76].sum() / hits.sum()  # +-1 sigma box: about 0.68^2
    assert 0.35 < centre < 0.6


def test_sampler_counts_and_patch_sizes():
    rng = np.random.default_rng(4)
    ab = np.ones((64, 64, 2), np.float32)
    hint, mask = HintSampler().sample(ab, rng, n_points=1)
    side = int(np.sqrt(mask.sum()))
    assert 1 <= side <= 9 and side * side == mask.sum()
    with pytest.raises(InputError, match="patch sides"):
        place_patches(ab, np.array([65]), rng)


# -------------------------------------------------------------------- propagation


def _two_regions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lightness = np.full((64, 64), 30.0, np.float32)
    lightness[:, 32:] = 80.0
    hint = np.zeros((64, 64, 2), np.float32)
    mask = np.zeros((64, 64), np.float32)
    hint[30:33, 5:8] = (60.0, 40.0)  # red-ish on the dark side
    hint[30:33, 56:59] = (-20.0, -50.0)  # blue on the bright side
    mask[30:33, 5:8] = mask[30:33, 56:59] = 1.0
    return lightness, hint, mask


def test_no_hints_give_zeros():
    out = propagate_hints(
        np.full((32, 32), 50, np.float32),
        np.zeros((32, 32, 2), np.float32),
        np.zeros((32, 32), np.float32),
    )
    assert out.shape == (32, 32, CHANNELS) and not out.any()


def test_single_color_fills_a_flat_image():
    lightness = np.full((48, 48), 50.0, np.float32)
    hint = np.zeros((48, 48, 2), np.float32)
    mask = np.zeros((48, 48), np.float32)
    hint[10:12, 10:12] = (25.0, -15.0)
    mask[10:12, 10:12] = 1.0
    out = propagate_hints(lightness, hint, mask)
    np.testing.assert_allclose(out[..., 0], 25.0, atol=0.5)
    np.testing.assert_allclose(out[..., 1], -15.0, atol=0.5)
    assert out[10, 10, 2] > out[47, 47, 2]  # confidence falls with distance


def test_edges_stop_the_spread():
    out = propagate_hints(*_two_regions())
    red, blue = np.array([60.0, 40.0]), np.array([-20.0, -50.0])
    left, right = out[:, :28, :2].reshape(-1, 2).mean(0), out[:, 36:, :2].reshape(-1, 2).mean(0)
    # Each side takes its own hint's color; the other side's leaks in only weakly.
    assert np.linalg.norm(left - red) < 0.2 * np.linalg.norm(left - blue)
    assert np.linalg.norm(right - blue) < 0.2 * np.linalg.norm(right - red)
    assert out[31, 6, 2] > 0.6 and out[31, 57, 2] > 0.6  # confident at the hints


def test_shape_errors_name_the_field():
    with pytest.raises(InputError, match="hint_mask"):
        propagate_hints(
            np.zeros((8, 8), np.float32),
            np.zeros((8, 8, 2), np.float32),
            np.zeros((8, 9), np.float32),
        )


# ------------------------------------------------------------------------- trainer


def _write_images(folder, n=7, size=(48, 56)):
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(n):
        img = np.zeros((*size, 3), np.uint8)
        img[:] = rng.integers(0, 256, 3)
        img[: size[0] // 2] = rng.integers(0, 256, 3)
        cv2.imwrite(str(folder / f"img{i:02d}.png"), img)
    gray = np.full((*size, 3), 120, np.uint8)
    cv2.imwrite(str(folder / "zz_gray.png"), gray)
    return folder


def test_random_crop_size_and_range():
    rng = np.random.default_rng(6)
    img = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    for _ in range(20):
        out = random_crop(img, 32, 0.55, rng)
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8 and out.flags.c_contiguous


def test_lr_schedule_warms_up_and_decays():
    cfg = TrainConfig(steps=100, warmup=10, lr=1e-3)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(10, cfg) == pytest.approx(1e-3)
    assert lr_at(100, cfg) == pytest.approx(2e-5)
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(10, 100))


TINY = dict(
    width_mult=0.125,
    crop=32,
    batch=2,
    warmup=2,
    val_every=3,
    val_images=2,
    val_size=32,
    dense_share=0.5,
    max_points=16,
)


def test_resume_continues_exactly(tmp_path):
    torch.set_num_threads(1)
    data = _write_images(tmp_path / "data")
    straight = train(
        data, tmp_path / "a", TrainConfig(steps=4, **TINY), device=torch.device("cpu"), resume=False
    )
    train(
        data,
        tmp_path / "b",
        TrainConfig(steps=4, **TINY),
        device=torch.device("cpu"),
        resume=False,
        max_minutes=0.0,
    )  # stops (with a checkpoint) after one step
    state = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    assert state["step"] == 1
    resumed = train(data, tmp_path / "b", TrainConfig(), device=torch.device("cpu"), resume=True)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=k)
    log = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert log[0]["skipped_gray"] == 1 and log[0]["train_images"] == 4
    assert [r["event"] for r in log if "event" in r] == ["start", "resume"]
    val = [r["val_ema"] for r in log if "val_ema" in r][-1]
    assert set(val) == {"0", "10", "100"} and val["0"]["propagation"] == val["0"]["gray"]
    with pytest.raises(InputError, match="checkpoint exists"):
        train(data, tmp_path / "b", TrainConfig(**TINY), device=torch.device("cpu"), resume=False)


def test_resume_can_change_the_runs_length(tmp_path):
    torch.set_num_threads(1)
    data = _write_images(tmp_path / "data")
    cpu = torch.device("cpu")
    train(data, tmp_path / "r", TrainConfig(steps=4, **TINY), device=cpu, resume=False,
          max_minutes=0.0)  # stops after one step
    train(data, tmp_path / "r", TrainConfig(), device=cpu, resume=True, new_steps=6)
    state = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 6 and state["config"]["steps"] == 6
    log = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert [r["config"]["steps"] for r in log if "event" in r] == [4, 6]
    with pytest.raises(InputError, match="at step 6; expected --steps at least that"):
        train(data, tmp_path / "r", TrainConfig(), device=cpu, resume=True, new_steps=5)


def test_warm_start_begins_at_the_source_runs_ema_weights(tmp_path):
    torch.set_num_threads(1)
    data = _write_images(tmp_path / "data")
    cpu = torch.device("cpu")
    source = train(data, tmp_path / "a", TrainConfig(steps=3, **TINY), device=cpu, resume=False)
    fresh = train(data, tmp_path / "f", TrainConfig(steps=0, **TINY), device=cpu, resume=False)
    warm_config = TrainConfig(steps=0, warmup_from=str(tmp_path / "a"), **TINY)
    warm = train(data, tmp_path / "w", warm_config, device=cpu, resume=False)
    for (k, a), b in zip(source.state_dict().items(), warm.state_dict().values(), strict=True):
        torch.testing.assert_close(b, a, msg=k)
    pairs = zip(source.parameters(), fresh.parameters(), strict=True)
    assert any(not torch.equal(a, c) for a, c in pairs)  # so the check above means something
    wider = TrainConfig(steps=0, warmup_from=str(tmp_path / "a"), **(TINY | {"width_mult": 0.25}))
    with pytest.raises(InputError, match="width 0.125 there, expected 0.25"):
        train(data, tmp_path / "x", wider, device=cpu, resume=False)


def test_export_loads_through_the_registry_contract(tmp_path):
    from vidcolor.models.weights import load_weights

    torch.set_num_threads(1)
    data = _write_images(tmp_path / "data")
    ema = train(
        data,
        tmp_path / "run",
        TrainConfig(steps=2, **TINY),
        device=torch.device("cpu"),
        resume=False,
    )
    dest = tmp_path / "w.safetensors"
    digest = export_weights(tmp_path / "run", dest)
    assert len(digest) == 64
    model, entry = load_weights(dest)
    assert entry.extra == "propagation" and entry.extra_inputs == CHANNELS and entry.residual
    assert entry.width_mult == 0.125 and entry.class_head_trained
    x = torch.rand(1, 1, 32, 32) * 100
    args = (
        x,
        torch.zeros(1, 2, 32, 32),
        torch.zeros(1, 1, 32, 32),
        torch.randn(1, CHANNELS, 32, 32) * 10,
    )
    with torch.no_grad():
        torch.testing.assert_close(model(*args), ema(*args))


def test_warm_start_from_exported_weights_begins_at_those_weights(tmp_path):
    torch.set_num_threads(1)
    data = _write_images(tmp_path / "data")
    cpu = torch.device("cpu")
    source = train(data, tmp_path / "a", TrainConfig(steps=3, **TINY), device=cpu, resume=False)
    exported = tmp_path / "a.safetensors"
    export_weights(tmp_path / "a", exported)
    warm = train(data, tmp_path / "w", TrainConfig(steps=0, warmup_from=str(exported), **TINY),
                 device=cpu, resume=False)
    for (k, a), b in zip(source.state_dict().items(), warm.state_dict().values(), strict=True):
        torch.testing.assert_close(b, a, msg=k)
    wider = TrainConfig(steps=0, warmup_from=str(exported), **(TINY | {"width_mult": 0.25}))
    with pytest.raises(InputError, match="width 0.125 there, expected 0.25"):
        train(data, tmp_path / "x", wider, device=cpu, resume=False)


def test_head_only_training_keeps_the_trunk_bit_identical(tmp_path):
    torch.set_num_threads(1)
    data = _write_images(tmp_path / "data")
    cpu = torch.device("cpu")
    v1 = TrainConfig(steps=3, class_head_version=1, **TINY)
    source = train(data, tmp_path / "a", v1, device=cpu, resume=False)
    exported = tmp_path / "a.safetensors"
    export_weights(tmp_path / "a", exported)
    head = TrainConfig(steps=3, warmup_from=str(exported), head_only=True, **TINY)
    tuned = train(data, tmp_path / "h", head, device=cpu, resume=False)
    assert source.class_head_version == 1 and tuned.class_head_version == 2
    src, out = source.state_dict(), tuned.state_dict()
    trunk = [k for k in src if not k.startswith("model_class.")]
    assert trunk == [k for k in out if not k.startswith("model_class.")]
    for k in trunk:  # weights and BatchNorm statistics: exactly the start's
        assert torch.equal(out[k], src[k]), k
    fresh = train(data, tmp_path / "f", TrainConfig(steps=0, **TINY), device=cpu, resume=False)
    moved = [k for k in out if k.startswith("model_class.")
             and not torch.equal(out[k], fresh.state_dict()[k])]
    assert moved  # the head itself trained
    x = torch.rand(1, 1, 32, 32) * 100
    args = (x, torch.zeros(1, 2, 32, 32), torch.zeros(1, 1, 32, 32),
            torch.randn(1, CHANNELS, 32, 32) * 10)
    with torch.no_grad():
        assert torch.equal(source(*args), tuned(*args))


def test_old_run_checkpoints_resume_with_the_version_1_head(tmp_path):
    torch.set_num_threads(1)
    data = _write_images(tmp_path / "data")
    cpu = torch.device("cpu")
    train(data, tmp_path / "old", TrainConfig(steps=3, class_head_version=1, **TINY), device=cpu,
          resume=False, max_minutes=0.0)
    path = tmp_path / "old" / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    del state["config"]["class_head_version"], state["config"]["head_only"]  # as saved before
    torch.save(state, path)
    resumed = train(data, tmp_path / "old", TrainConfig(), device=cpu, resume=True)
    assert resumed.class_head_version == 1


# ---------------------------------------------------------------- film augmentation


def _flat_images(n=3, size=(64, 64)):
    rng = np.random.default_rng(2)
    out = []
    for _ in range(n):
        img = np.zeros((*size, 3), np.uint8)
        img[:] = rng.integers(40, 220, 3)
        img[:, size[1] // 2:] = rng.integers(40, 220, 3)
        out.append(img)
    return out


def test_degrade_still_is_seeded_and_keeps_the_picture_in_place():
    from vidcolor.filmlook import degrade_still

    gray = np.full((128, 128), 100, np.uint8)
    gray[:, 64:] = 180
    a = degrade_still(gray, 1.0, np.random.default_rng(3))
    b = degrade_still(gray, 1.0, np.random.default_rng(3))
    assert a.dtype == np.uint8 and a.shape == gray.shape and np.array_equal(a, b)
    assert degrade_still(gray, 0.0, np.random.default_rng(3)) is gray
    noise = (a.astype(float) - gray)[:, 8:56]  # away from the edge: grain and flicker
    assert noise.std() > 3.0
    # No weave: the edge stays at column 64 (the mean step across it is still there).
    assert a[:, 66:70].mean() - a[:, 58:62].mean() > 50
    stronger = degrade_still(gray, 2.0, np.random.default_rng(3))
    assert (stronger.astype(float) - gray)[:, 8:56].std() > noise.std()


def test_benchmarks_and_trainer_share_one_degradation():
    import importlib.util
    from pathlib import Path

    from vidcolor import filmlook

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "degrade.py"
    spec = importlib.util.spec_from_file_location("degrade_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.degrade_frames is filmlook.degrade_frames
    assert module.degrade_still is filmlook.degrade_still


def test_benchmark_gray_clips_decode_to_the_same_luma_on_every_write(tmp_path):
    # The benchmarks colorize a gray clip that degrade.write_gray makes anew on every run;
    # at crf 4 libx264 gave another clip now and then (a few gray levels off, on one
    # thread too), and the same colorizer scored 25.70 or 25.42 dB on DAVIS blackswan.
    import importlib.util
    from fractions import Fraction
    from pathlib import Path

    from media import read_luma

    from vidcolor.io.decode import luma_lut

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "degrade.py"
    spec = importlib.util.spec_from_file_location("degrade_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (64, 156)).astype(np.float32), (0, 0), 1.0)
    frames = [np.clip(texture[:, 2 * i:2 * i + 96] + rng.normal(0, 8, (64, 96)), 0, 255)
              .astype(np.uint8) for i in range(30)]
    clips = []
    for k in range(8):
        out = tmp_path / f"gray{k}.mp4"
        module.write_gray(frames, out, Fraction(25))
        clips.append((out.read_bytes(), luma_lut(8, False)[read_luma(out)]))
    for data, luma in clips:
        assert np.array_equal(luma, clips[0][1])
        assert data == clips[0][0]
    # and it is the frames' luma, up to the limited-range mapping of yuv420p
    assert np.abs(clips[0][1].astype(int) - np.stack(frames)).max() <= 1


def test_film_augmentation_degrades_the_input_luma_only():
    from vidcolor.color import rgb_to_lab
    from vidcolor.models.propagate import DEFAULT_PARAMS, propagate_batch

    images = _flat_images()
    clean_cfg = TrainConfig(batch=4, crop=64, min_scale=1.0, film_share=0.0)
    film_cfg = replace(clean_cfg, film_share=1.0, film_min=1.0, film_max=1.0)
    clean = train_batch(images, clean_cfg, np.random.default_rng(0))
    film = train_batch(images, film_cfg, np.random.default_rng(0))
    # The first sample's crop and hints are drawn before its film draws: the same target.
    torch.testing.assert_close(film.target[0], clean.target[0])
    torch.testing.assert_close(film.hint_ab[0], clean.hint_ab[0])
    for j in range(4):
        assert film.lightness[j, 0, :, 2:30].std() > 1.0  # a degraded, grainy luma ...
        # ... and the propagation was computed from that same degraded luma.
        lightness = film.lightness[j, 0].numpy()
        ab = film.hint_ab[j].permute(1, 2, 0).numpy()
        mask = film.hint_mask[j, 0].numpy()
        expected = propagate_batch(lightness[None], ab[None], mask[None], DEFAULT_PARAMS)[0]
        np.testing.assert_allclose(film.extra[j].permute(1, 2, 0).numpy(), expected, atol=1e-4)
    # Without film the network sees the true L of its crop (Lab L, flat on each half).
    values = {round(float(v), 3) for v in clean.lightness.flatten()}
    halves = {round(float(v), 3) for im in images for v in rgb_to_lab(im)[0, [0, -1], 0]}
    assert values <= halves
