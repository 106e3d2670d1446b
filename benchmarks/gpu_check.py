"""``make gpu-check``: every check that needs a GPU, in one command that fits 10 minutes.

On a CUDA machine, in order (each step is timed out on its own, and a failed step is
recorded and does not stop the next):

1. **CUDA tests** (``tests/test_cuda.py``): autocast, out-of-memory halving, batch-size
   independence on the GPU;
2. **throughput at 1080p** (``benchmarks/throughput.py --device cuda`` on a generated
   1080p clip): transcode only, model alone, end to end, and their ratios;
3. **NVDEC and NVENC** against the CPU: decode fps of ``h264`` vs ``h264_cuvid`` and encode
   fps of ``libx264`` vs ``h264_nvenc`` (each "unavailable: why" where PyAV's FFmpeg or the
   driver lacks it);
4. **training**: ``python -m vidcolor.train --device cuda`` for ``--train-minutes``, warm-
   started from the shipped weights, exported, then the image sweep (CBSD68, McMaster18)
   with those weights and their CPU fps at 256 px.

``--smoke`` runs the same steps on the CPU with tiny settings (a 160x96 clip, a few
training steps on generated images, a two-image sweep), so the script is known to work
before a GPU is lent; ``make test`` runs it. Results go to ``--out`` as ``gpu_check.json``
and are printed as they come.

Usage::

    make gpu-check                   # on the CUDA machine
    make gpu-check SMOKE=1           # anywhere: tiny, CPU
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SHIPPED = REPO / "weights" / "vidcolor-siggraph17-q.safetensors"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}


def _run(cmd: list[str], timeout: float) -> dict:
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "seconds": timeout, "error": f"timed out after {timeout:.0f} s"}
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    return {"ok": proc.returncode == 0, "seconds": round(time.monotonic() - t0, 1),
            "returncode": proc.returncode, "tail": tail}


def make_clip(path: Path, size: tuple[int, int], frames: int, fps: int = 24) -> Path:
    """A moving gray test clip (H.264) of ``size`` ``(width, height)``."""
    sys.path.insert(0, str(REPO / "tests"))
    import media

    return media.make_clip(path, frames=frames, size=size, fps=fps)


def codec_fps(clip: Path, out_dir: Path, frames: int) -> dict:
    """Decode fps with FFmpeg's software and CUDA H.264 decoders, encode fps likewise."""
    import av

    result: dict = {}
    for name in ("h264", "h264_cuvid"):
        try:
            with av.open(str(clip)) as container:
                stream = container.streams.video[0]
                ctx = av.CodecContext.create(name, "r")
                ctx.extradata = stream.codec_context.extradata
                n, t0 = 0, time.perf_counter()
                for packet in container.demux(stream):
                    for _ in ctx.decode(packet):
                        n += 1
                try:
                    for _ in ctx.decode(None):  # drain the decoder
                        n += 1
                except EOFError:
                    pass
                result[f"decode_{name}_fps"] = round(n / (time.perf_counter() - t0), 2)
        except Exception as exc:  # noqa: BLE001 - a missing codec or driver is a result
            result[f"decode_{name}_fps"] = f"unavailable: {type(exc).__name__}: {exc}"
    with av.open(str(clip)) as container:
        planes = [f.to_ndarray(format="yuv420p") for _, f in
                  zip(range(min(frames, 24)), container.decode(video=0), strict=False)]
    for name in ("libx264", "h264_nvenc"):
        try:
            dst = out_dir / f"enc_{name}.mp4"
            with av.open(str(dst), "w") as out:
                stream = out.add_stream(name, rate=24)
                stream.height, stream.width = planes[0].shape[0] * 2 // 3, planes[0].shape[1]
                stream.pix_fmt = "yuv420p"
                t0 = time.perf_counter()
                for i in range(frames):
                    frame = av.VideoFrame.from_ndarray(planes[i % len(planes)], format="yuv420p")
                    frame.pts, frame.time_base = i, Fraction(1, 24)
                    for packet in stream.encode(frame):
                        out.mux(packet)
                for packet in stream.encode():
                    out.mux(packet)
                result[f"encode_{name}_fps"] = round(frames / (time.perf_counter() - t0), 2)
        except Exception as exc:  # noqa: BLE001
            result[f"encode_{name}_fps"] = f"unavailable: {type(exc).__name__}: {exc}"
    return result


def make_images(folder: Path, count: int, side: int) -> Path:
    """Tiny color images for the smoke run's training and sweep."""
    import cv2
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        img = np.zeros((side, side, 3), np.uint8)
        for _ in range(6):
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            center = tuple(int(c) for c in rng.integers(0, side, 2))
            cv2.circle(img, center, int(rng.integers(side // 8, side // 2)), color, -1)
        cv2.imwrite(str(folder / f"img{i:02d}.png"), img)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny, on the CPU")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "gpu-check")
    parser.add_argument("--train-minutes", type=float, default=3.0)
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    device = "cpu" if args.smoke else "cuda"
    results: dict = {"smoke": args.smoke, "device": device}

    def record(name: str, value: dict) -> None:
        results[name] = value
        print(json.dumps({name: value}), flush=True)
        (out / "gpu_check.json").write_text(json.dumps(results, indent=1))

    import torch

    results["cuda"] = torch.cuda.is_available()
    results["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if not args.smoke and not torch.cuda.is_available():
        print("gpu-check: no CUDA device here; use SMOKE=1 (--smoke) to try the script",
              file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="vidcolor-gpu-check-") as tmp:
        work = Path(tmp)
        # 1. CUDA tests (skipped on a CPU-only machine, so the smoke run only sees them run).
        record("cuda_tests", _run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                   str(REPO / "tests" / "test_cuda.py")], 240))
        # 2. Throughput.
        size, frames = ((160, 96), 8) if args.smoke else ((1920, 1080), 96)
        clip = make_clip(work / "clip.mp4", size, frames)
        bench = work / "throughput.json"
        step = _run([py, str(REPO / "benchmarks" / "throughput.py"), str(clip), "--device",
                     device, "--skip-rss", "--json", str(bench),
                     "--batch-size", "2" if args.smoke else "16"], 300)
        if bench.exists():
            step["results"] = json.loads(bench.read_text())
        record("throughput", step)
        # 3. NVDEC / NVENC against the CPU.
        record("codecs", codec_fps(clip, work, frames))
        # 4. Training, then the sweep with the trained weights.
        if args.smoke:
            train_data = make_images(work / "train", 8, 48)
            eval_dirs = [make_images(work / "eval", 2, 64)]
            train_args = ["--crop", "32", "--batch", "2", "--steps", "2", "--width", "0.25"]
            sweep_args = ["--ns", "0,10", "--side", "64"]
        else:
            train_data = DATA / "train"
            eval_dirs = [DATA / "eval" / "CBSD68", DATA / "eval" / "McMaster18"]
            train_args = ["--max-minutes", str(args.train_minutes), "--batch", "64"]
            sweep_args = []
        trained = work / "trained.safetensors"
        record("train", _run([py, "-m", "vidcolor.train", "--data", str(train_data),
                              "--device", device, "--runs-dir", str(work / "runs"),
                              "--name", "gpu", "--warmup-from", str(SHIPPED),
                              "--val-minutes", "1000", "--export", str(trained), *train_args],
                             args.train_minutes * 60 + 120))
        if trained.exists():
            sweep = work / "sweep.json"
            step = _run([py, str(REPO / "benchmarks" / "image_sweep.py"),
                         *map(str, eval_dirs), "--methods", "gray,vidcolor", "--weights",
                         str(trained), "--device", device, "--out", str(sweep), "--quiet",
                         *sweep_args], 240)
            if sweep.exists():
                step["results"] = json.loads(sweep.read_text())
            from vidcolor.models.inference import HintColorizer, measure_fps

            step["trained_cpu_fps_256"] = round(measure_fps(
                HintColorizer(trained, "cpu"), size=64 if args.smoke else 256,
                frames=4 if args.smoke else 32), 2)
            record("sweep", step)
    failed = [k for k, v in results.items() if isinstance(v, dict) and v.get("ok") is False]
    print(f"gpu-check: {'failed: ' + ', '.join(failed) if failed else 'all steps ran'}; "
          f"results in {out / 'gpu_check.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
