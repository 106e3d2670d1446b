"""Throughput of the video pipeline and its memory on long input.

Usage::

    python benchmarks/throughput.py CLIP [--weights NAME|PATH] [--device cpu|cuda]
        [--batch-size N] [--frames N] [--rss-clip CLIP2] [--json OUT] [--codec prores]
        [--hints N] [--skip-model] [--skip-rss] [--skip-upsample]

In one run, on CLIP:

1. **transcode only**: decode every frame and encode it back with neutral chroma
   (``io.decode.iter_video_frames`` -> ``io.encode.VideoWriter``), no color work;
2. **model alone**: ``HintColorizer.predict_ab`` on the clip's working-resolution
   lightness, batch after batch, nothing else;
3. **end to end**: ``vidcolor.run.run_video`` (analysis, flow, tracking, network,
   temporal smoothing, compose, encode); ``--hints N`` puts N point hints on frame 0 so
   that hint tracking runs too (without hints there is nothing to track);

and the ratios of the three fps. Then **peak RSS**: a 10 s and a 60 s clip of the same
content are made by looping the clip (``--rss-clip`` picks another, smaller clip for this
part), and each is colorized end to end in its own subprocess, whose peak RSS is read from
``wait4``. Streaming means the two peaks stay within 10%.

The machine's load matters: run it on an idle machine, or read the ratios, which are
less sensitive to the load than the fps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vidcolor.options import BACKENDS  # noqa: E402


def transcode_fps(clip: Path, out_dir: Path, frames: int | None,
                  codec: str | None = None, chroma: str | None = None
                  ) -> tuple[float, int, float]:
    """fps of decode + encode alone (neutral chroma), the frames done, and the CPU time per
    frame (seconds, all the process's threads: FFmpeg's encoder threads included)."""
    from vidcolor.io.decode import iter_video_frames
    from vidcolor.io.encode import VideoWriter
    from vidcolor.io.probe import probe
    from vidcolor.options import EncodeOptions

    info = probe(clip)
    dst = out_dir / f"transcode{output_suffix(clip, codec)}"
    count = 0
    t0, c0 = time.perf_counter(), time.process_time()
    with VideoWriter(dst, info, EncodeOptions(codec=codec, overwrite=True,
                                              chroma=chroma)) as writer:
        cw, ch = writer.chroma_size
        deep = writer.bit_depth > 8
        neutral = np.full((ch, cw), 1 << (writer.bit_depth - 1), np.uint16 if deep else np.uint8)
        for frame_time, plane in iter_video_frames(clip):
            writer.write(frame_time, plane.y, neutral, neutral)
            count += 1
            if frames is not None and count >= frames:
                break
    return count / (time.perf_counter() - t0), count, (time.process_time() - c0) / count


def model_fps(clip: Path, weights: str, device: str, batch_size: int,
              frames: int | None, backend: str = "auto"
              ) -> tuple[float, int, tuple[int, int], float]:
    """fps of the network alone at working resolution, the frames done, that size, and
    the CPU time per frame (seconds, all threads)."""
    from vidcolor.color import gray_to_lightness
    from vidcolor.frames import working_shape
    from vidcolor.io.decode import iter_luma
    from vidcolor.io.probe import probe
    from vidcolor.models.inference import HintColorizer

    info = probe(clip)
    h, w = working_shape(info.height, info.width, 256)
    lights = []
    for _, gray in iter_luma(clip, (w, h)):
        lights.append(gray_to_lightness(gray))
        if len(lights) >= (frames or 10**9):
            break
    lightness = np.stack(lights)
    model = HintColorizer(weights, device=device, batch_size=batch_size, backend=backend)
    zeros_ab = np.zeros((*lightness.shape, 2), np.float32)
    zeros_mask = np.zeros(lightness.shape, np.float32)
    model.predict_ab(lightness[:batch_size], zeros_ab[:batch_size], zeros_mask[:batch_size])
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, len(lightness), batch_size):
        sl = slice(start, start + batch_size)
        model.predict_ab(lightness[sl], zeros_ab[sl], zeros_mask[sl])
    cpu = (time.process_time() - c0) / len(lightness)
    return len(lightness) / (time.perf_counter() - t0), len(lightness), (h, w), cpu


def compose_backends(width: int, height: int, repeats: int = 5) -> dict[str, float]:
    """Milliseconds per frame of the guided chroma upsampling, OpenCV vs kornia (CPU).

    Upsamples 256-px working chroma to the 4:2:0 chroma size of a ``width`` x ``height``
    frame, guided by luma of that size, as the compose step does.
    """
    from vidcolor.frames import working_shape
    from vidcolor.run.compose import upsample_ab

    rng = np.random.default_rng(0)
    cw, ch = (width + 1) // 2, (height + 1) // 2
    guide = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
    h, w = working_shape(height, width, 256)
    ab = rng.normal(0, 20, (h, w, 2)).astype(np.float32)
    out = {}
    for backend in ("opencv", "kornia"):
        upsample_ab(ab, guide, backend=backend)
        t0 = time.perf_counter()
        for _ in range(repeats):
            upsample_ab(ab, guide, backend=backend)
        out[backend] = 1000.0 * (time.perf_counter() - t0) / repeats
    return out


def output_suffix(clip: Path, codec: str | None) -> str:
    """The container of the outputs: ``.mov`` for ProRes/DNxHR, else the clip's or mkv."""
    if codec in ("prores", "prores_ks", "dnxhd"):
        return ".mov"
    return clip.suffix if clip.suffix in (".mp4", ".mkv") else ".mkv"


def first_frame_hints(count: int, seed: int = 0) -> dict:
    """``count`` point hints on frame 0 (seeded places and colors), so tracking runs."""
    from vidcolor.hints.format import FrameHints, HintPoint

    rng = np.random.default_rng(seed)
    points = tuple(HintPoint(float(x), float(y), (float(a), float(b)), 0.0125)
                   for x, y, a, b in zip(rng.uniform(0.02, 0.98, count),
                                         rng.uniform(0.02, 0.98, count),
                                         rng.uniform(-30, 30, count),
                                         rng.uniform(-30, 30, count), strict=True))
    return {0: FrameHints(0, points=points)} if count else {}


def end_to_end(clip: Path, out_dir: Path, weights: str, device: str,
               batch_size: int, codec: str | None = None, chroma: str | None = None,
               hints: int = 0, backend: str = "auto") -> dict:
    """A full pipeline run (``hints`` point hints on frame 0); its report as a dict."""
    from vidcolor import api
    from vidcolor.run import run_video

    options = api.build_options(weights=weights, device=device, batch_size=batch_size,
                                overwrite=True, codec=codec, chroma=chroma, backend=backend)
    dst = out_dir / f"e2e{output_suffix(clip, codec)}"
    return run_video(clip, dst, first_frame_hints(hints) or None, options).to_dict()


def loop_clip(clip: Path, dst: Path, seconds: float) -> Path:
    """Write ``clip``'s video looped to ``seconds`` (gray, H.264 ultrafast), no audio."""
    import av

    from vidcolor.io.decode import iter_video_frames
    from vidcolor.io.probe import probe

    info = probe(clip)
    rate = Fraction(info.average_rate or 24).limit_denominator(1001)
    planes = [plane.y if plane.bit_depth == 8 else
              (plane.y >> (plane.bit_depth - 8)).astype(np.uint8)  # 8-bit loop of deep clips
              for _, plane in iter_video_frames(clip)]
    total = int(round(seconds * rate))
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height = info.width, info.height
        stream.pix_fmt = "yuv420p" if info.width % 2 == 0 and info.height % 2 == 0 \
            else "yuv444p"
        stream.options = {"preset": "ultrafast", "crf": "14"}
        for i in range(total):
            y = planes[i % len(planes)]
            frame = av.VideoFrame.from_ndarray(np.repeat(y[..., None], 3, axis=2),
                                               format="rgb24").reformat(format=stream.pix_fmt)
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def peak_rss_mib(clip: Path, out_dir: Path, weights: str, device: str,
                 batch_size: int) -> tuple[float, float, int]:
    """Colorize ``clip`` in a subprocess (the CLI); its peak RSS (MiB), seconds, exit code."""
    dst = out_dir / f"{clip.stem}_color.mkv"
    cmd = [sys.executable, "-m", "vidcolor", str(clip), "-o", str(dst), "--overwrite",
           "--weights", weights, "--device", device, "--batch-size", str(batch_size),
           "--progress", "none"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    return usage.ru_maxrss / 1024.0, seconds, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path)
    parser.add_argument("--weights", default="default")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="what runs the network (model alone and end to end)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--frames", type=int, default=None,
                        help="limit the transcode and model measurements to N frames")
    parser.add_argument("--rss-clip", type=Path, default=None,
                        help="clip to loop for the RSS part (default: CLIP)")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--codec", default=None,
                        help="output codec of the transcode and end-to-end runs (prores ...)")
    parser.add_argument("--chroma", default=None, choices=("420", "422", "444"),
                        help="output subsampling (default: the source's; RGB scans 444)")
    parser.add_argument("--skip-upsample", action="store_true")
    parser.add_argument("--hints", type=int, default=0,
                        help="point hints on frame 0 of the end-to-end run (tracking runs)")
    parser.add_argument("--skip-model", action="store_true",
                        help="skip the transcode and model-alone measurements")
    args = parser.parse_args()

    import torch

    results: dict = {"clip": str(args.clip), "device": args.device, "backend": args.backend,
                     "batch_size": args.batch_size, "torch_threads": torch.get_num_threads(),
                     "cpus": os.cpu_count(), "machine": platform.machine(),
                     "load_avg_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="vidcolor-bench-") as tmp:
        out = Path(tmp)
        if args.skip_model:
            fps_t = fps_m = cpu_t = cpu_m = float("nan")
            shape = (0, 0)
        else:
            fps_t, n_t, cpu_t = transcode_fps(args.clip, out, args.frames, args.codec,
                                              args.chroma)
            print(f"transcode only : {fps_t:7.2f} fps ({n_t} frames, "
                  f"{1000 * cpu_t:.0f} CPU ms per frame)")
            fps_m, n_m, shape, cpu_m = model_fps(args.clip, args.weights, args.device,
                                                 args.batch_size, args.frames, args.backend)
            print(f"model alone    : {fps_m:7.2f} fps ({n_m} frames at {shape[1]}x{shape[0]}, "
                  f"{1000 * cpu_m:.0f} CPU ms per frame)")
            if args.device == "cpu":
                # decode + encode and the network must both run on these cores: even with
                # everything else free and perfect overlap, end to end cannot beat this
                cores = len(os.sched_getaffinity(0))
                ceiling = cores / (cpu_t + cpu_m)
                print(f"CPU ceiling    : {cores} cores / ({1000 * cpu_t:.0f} + "
                      f"{1000 * cpu_m:.0f} CPU ms) = {ceiling:.2f} fps, "
                      f"end-to-end/transcode <= {ceiling / fps_t:.3f}")
                results.update(cpu_ms_transcode=1000 * cpu_t, cpu_ms_model=1000 * cpu_m,
                               cpu_ceiling_fps=ceiling, ratio_ceiling=ceiling / fps_t)
        sizes = () if args.skip_upsample else (("720p", (1280, 720)), ("1080p", (1920, 1080)))
        for label, (w, h) in sizes:
            ms = compose_backends(w, h)
            print(f"guided upsample {label}: opencv {ms['opencv']:.1f} ms, "
                  f"kornia (cpu) {ms['kornia']:.1f} ms per frame")
            results[f"upsample_{label}_ms"] = ms
        report = end_to_end(args.clip, out, args.weights, args.device, args.batch_size,
                            args.codec, args.chroma, args.hints, args.backend)
        fps_e = report["fps"]
        print(f"end to end     : {fps_e:7.2f} fps ({report['frames']} frames, "
              f"{report['shots']} shots)")
        print(f"ratios         : end-to-end/transcode {fps_e / fps_t:.3f}, "
              f"end-to-end/model {fps_e / fps_m:.3f}, model/transcode {fps_m / fps_t:.3f}")
        results.update(transcode_fps=fps_t, model_fps=fps_m, end_to_end_fps=fps_e,
                       working_size=list(shape), e2e_frames=report["frames"],
                       ratio_e2e_transcode=fps_e / fps_t, ratio_e2e_model=fps_e / fps_m)
        if not args.skip_rss:
            base = args.rss_clip or args.clip
            rss = {}
            for seconds in (10, 60):
                looped = loop_clip(base, out / f"loop{seconds}s.mp4", seconds)
                mib, wall, code = peak_rss_mib(looped, out, args.weights, args.device,
                                               args.batch_size)
                rss[seconds] = mib
                print(f"peak RSS {seconds:>2} s clip: {mib:8.1f} MiB ({wall:.0f} s, exit {code})")
                results[f"rss_{seconds}s_mib"] = mib
                results[f"rss_{seconds}s_exit"] = code
            growth = rss[60] / rss[10] - 1.0
            print(f"RSS growth 10 s -> 60 s: {100 * growth:+.1f}% (streaming: within 10%)")
            results["rss_growth"] = growth
            results["rss_clip"] = str(base)
    results["load_avg_end"] = os.getloadavg()[0]
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
