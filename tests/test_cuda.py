"""The CUDA path on a real GPU: autocast, out-of-memory halving, batch-size independence.

Skipped where torch sees no GPU (the 2-core CI); ``make gpu-check`` runs them on a CUDA
machine. Each test uses seeded random weights at small sizes.
"""

from __future__ import annotations

import media
import numpy as np
import pytest
import torch
from test_run import WORKING_SIZE, random_entry

from vidcolor.api import Colorizer
from vidcolor.models import weights
from vidcolor.models.inference import HintColorizer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def cuda_colorizer(precision: str = "auto", batch_size: int = 4, seed: int = 0
                   ) -> HintColorizer:
    torch.manual_seed(seed)
    entry = random_entry()
    return HintColorizer.from_model(weights.build_model(entry), entry, device="cuda",
                                    precision=precision, batch_size=batch_size)


def inputs(n: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    lightness = rng.uniform(0, 100, (n, h, w)).astype(np.float32)
    hint_ab = np.zeros((n, h, w, 2), np.float32)
    mask = np.zeros((n, h, w), np.float32)
    hint_ab[:, h // 2, w // 2] = (40.0, -30.0)
    mask[:, h // 2, w // 2] = 1.0
    return lightness, hint_ab, mask


def test_autocast_runs_in_half_precision_and_stays_close_to_fp32():
    args = inputs(4, 64, 96)
    fast = cuda_colorizer("auto")
    assert fast.dtype in (torch.bfloat16, torch.float16)
    ref = cuda_colorizer("fp32").predict_ab(*args)
    out = fast.predict_ab(*args)
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert float(np.abs(out - ref).mean()) < 1.0  # ab units: invisible
    assert float(np.abs(out - ref).max()) < 8.0


def test_out_of_memory_halves_the_batch_and_keeps_the_result():
    args = inputs(32, 512, 512)
    small = cuda_colorizer("fp32", batch_size=2)
    reference = small.predict_ab(*args)
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    # Room for the weights and a few frames, far less than a batch of 32 at 512x512.
    torch.cuda.set_per_process_memory_fraction(min(1.0, 1.5e9 / total))
    try:
        big = cuda_colorizer("fp32", batch_size=32)
        out = big.predict_ab(*args)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    assert big.batch_size < 32  # it halved
    np.testing.assert_allclose(out, reference, atol=1e-2)


def test_a_cuda_video_run_does_not_depend_on_the_batch_size(make_clip, tmp_path):
    src = make_clip("in.mp4", frames=14, cuts=(7,))
    frames = []
    for batch in (1, 5):
        colorizer = Colorizer.from_model(cuda_colorizer("fp32", batch_size=batch),
                                         batch_size=batch, working_size=WORKING_SIZE)
        got = []
        colorizer.colorize_video(src, tmp_path / f"b{batch}.mkv", codec="ffv1",
                                 on_frame=lambda f, got=got: got.append(f.color))
        frames.append(np.stack(got))
    assert media.psnr(frames[0], frames[1]) >= 50.0
