"""``make gpu-check SMOKE=1``: the GPU check script runs end to end, tiny, on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_smoke_runs_every_step(tmp_path):
    proc = subprocess.run(["make", "-s", "gpu-check", "SMOKE=1", f"GPU_CHECK_OUT={tmp_path}"],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MAKEFLAGS": ""})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert results["smoke"] and results["device"] == "cpu"
    for step in ("cuda_tests", "throughput", "train", "sweep"):
        assert results[step]["ok"], (step, results[step])
    bench = results["throughput"]["results"]
    assert bench["transcode_fps"] > 0 and bench["end_to_end_fps"] > 0
    assert 0 < bench["ratio_e2e_transcode"]
    assert isinstance(results["codecs"]["encode_libx264_fps"], float)
    assert isinstance(results["codecs"]["decode_h264_fps"], float)
    assert set(results["sweep"]["results"]) >= {"protocol"}
    assert results["sweep"]["trained_cpu_fps_256"] > 0
