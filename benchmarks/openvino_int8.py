"""int8 post-training quantization (NNCF) of the OpenVINO network: speed and quality.

A measurement, not a backend option (see benchmarks/README.md, "int8 via NNCF"). It

* converts the weights' network to OpenVINO IR as :class:`OpenVinoNetwork` does (the same
  cached IR) and quantizes it with ``nncf.quantize`` (preset MIXED: symmetric weights,
  asymmetric activations), calibrated on ``--calib`` photos of ``--train`` (seeded pick,
  half at 256x256, half at 456x256, each with N patch hints as the image sweep makes them,
  N drawn from the sweep's hint counts, and the hint propagation the weights take as input);
* times the network alone at 456x256, batch 1, ``--threads`` threads, interleaved: OpenVINO
  fp32, bf16, int8 (the layers NNCF leaves in float run in f32, or bf16), and torch fp32;
* compares each runtime's ab with torch's on four CBSD68-style images (256x256) and four
  calibration-free training photos (456x256), 10 hints each;
* runs the image sweep (:mod:`image_sweep`, same hints and scoring) with the int8 network on
  the ``--eval`` folders and prints it beside torch's, per N.

``--ranges minmax`` takes activation ranges as the global min and max over the calibration
set; ``default`` uses NNCF's default estimator (quantiles), which clips rare large values.

Needs the ``int8`` extra (``pip install -c constraints-dev.txt -e .[openvino,int8]``).

Example::

    OMP_WAIT_POLICY=PASSIVE nice -n 10 .venv/bin/python benchmarks/openvino_int8.py \\
        --train ../shared/data/train \\
        --eval ../shared/data/eval/cbsd68 ../shared/data/eval/mcmaster18 \\
        --ranges minmax --out int8.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import image_sweep as sweep  # noqa: E402 - benchmarks/ is on sys.path

from vidcolor.color import rgb_to_lab  # noqa: E402
from vidcolor.models.inference import HintColorizer, _Batch  # noqa: E402
from vidcolor.models.openvino_net import OpenVinoNetwork, cache_dir  # noqa: E402

SIZES = ((256, 256), (456, 256))  # (width, height): the sweep's and the video working size
Inputs = tuple[np.ndarray, np.ndarray, np.ndarray]


def photo(path: Path, width: int, height: int) -> np.ndarray:
    """An image file as RGB uint8, resized to ``width`` x ``height`` (area interpolation)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{path}: cannot be read as an image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def hinted(rgb: np.ndarray, n: int, rng: np.random.Generator) -> Inputs:
    """``(L, hint_ab, mask)`` batches of one for ``rgb`` with ``n`` sweep-style hint patches."""
    lab = rgb_to_lab(rgb)
    hint_ab, mask = sweep.sample_patch_hints(lab[..., 1:], n, rng)
    return lab[None, ..., 0], hint_ab[None], mask[None]


def network_inputs(colorizer: HintColorizer, inputs: Inputs) -> list[np.ndarray]:
    """The arrays the network itself takes (padded, with the hint propagation channels)."""
    batch, _ = colorizer._prepare(*inputs)
    tensors = (batch.lightness, batch.hint_ab, batch.hint_mask, batch.extra)
    return [np.ascontiguousarray(t.numpy()) for t in tensors if t is not None]


def quantize(ov_model, items: list[list[np.ndarray]], ranges: str):
    """``nncf.quantize`` with preset MIXED on ``items``; ``ranges`` is minmax or default."""
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    extra = {}
    if ranges == "minmax":
        extra["advanced_parameters"] = AdvancedQuantizationParameters(
            activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX)
    return nncf.quantize(ov_model, nncf.Dataset(items), preset=nncf.QuantizationPreset.MIXED,
                         subset_size=len(items), **extra)


def compiled_copy(template: OpenVinoNetwork, core, ov_model, hint: str,
                  threads: int) -> OpenVinoNetwork:
    """``template`` (for its ``__call__``) running ``ov_model`` with precision hint ``hint``."""
    net = copy.copy(template)
    net._compiled = core.compile_model(ov_model, "CPU", {
        "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": hint})
    net._request = net._compiled.create_infer_request()
    return net


def time_interleaved(fns: dict[str, Callable[[], object]], runs: int, warmup: int
                     ) -> dict[str, list[float]]:
    """Milliseconds per call of every function, one call of each in turn per round."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000.0)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, required=True, help="folder of training photos")
    parser.add_argument("--eval", type=Path, nargs="*", default=[],
                        help="image sweep folders (the first also gives the ab-check images)")
    parser.add_argument("--weights", default="default")
    parser.add_argument("--calib", type=int, default=100, help="calibration photos")
    parser.add_argument("--ranges", choices=("minmax", "default"), default="minmax")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=25, help="timed calls per network")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)

    import openvino as ov
    import torch

    colorizer = HintColorizer(args.weights, device="cpu", batch_size=9, threads=args.threads,
                              backend="torch")
    fp32 = OpenVinoNetwork(colorizer.model, colorizer.entry.extra_inputs, args.threads, "fp32")
    core = ov.Core()
    ir = fp32._converted(ov, core, colorizer.model, cache_dir())

    rng = np.random.default_rng(args.seed)
    photos = sweep.list_images(args.train)
    pick = [photos[i] for i in rng.choice(len(photos), args.calib, replace=False)]
    items = [network_inputs(colorizer, hinted(photo(p, *SIZES[k % 2]),
                                              int(rng.choice(sweep.SWEEP_N)), rng))
             for k, p in enumerate(pick)]
    start = time.perf_counter()
    quantized = quantize(ir, items, args.ranges)
    quantize_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:  # run the IR as read back, as the backend does
        ov.save_model(quantized, str(Path(tmp) / "int8.xml"), compress_to_fp16=False)
        int8_ir = core.read_model(str(Path(tmp) / "int8.xml"))
    nets = {"OpenVINO fp32": compiled_copy(fp32, core, ir, "f32", args.threads),
            "OpenVINO bf16": compiled_copy(fp32, core, ir, "bf16", args.threads),
            "OpenVINO int8 (float layers f32)": compiled_copy(fp32, core, int8_ir, "f32",
                                                              args.threads),
            "OpenVINO int8 (float layers bf16)": compiled_copy(fp32, core, int8_ir, "bf16",
                                                               args.threads)}

    x = network_inputs(colorizer, hinted(photo(photos[0], *SIZES[1]), 10, rng))
    tx = _Batch(*[torch.from_numpy(a) for a in x])

    def torch_forward() -> None:
        with torch.inference_mode():
            colorizer._forward(tx)

    fns: dict[str, Callable[[], object]] = {
        name: (lambda n=net: n._request.infer(x)) for name, net in nets.items()}
    fns["torch fp32"] = torch_forward
    times = time_interleaved(fns, args.runs, args.warmup)
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()},
                    "quantize_seconds": round(quantize_s, 1),
                    "load_average": os.getloadavg(), "latency_ms": {}, "ab_difference": {}}
    print(f"quantized in {quantize_s:.1f} s; load average {os.getloadavg()}\n")
    print(f"network alone, {SIZES[1][0]}x{SIZES[1][1]}, batch 1, {args.threads} threads, "
          f"{args.runs} interleaved calls each after {args.warmup} warm-up calls\n")
    print("| network | median ms | min ms | p90 ms |\n|---|---:|---:|---:|")
    for name, ms in times.items():
        stats = {"median": float(np.median(ms)), "min": float(np.min(ms)),
                 "p90": float(np.percentile(ms, 90))}
        report["latency_ms"][name] = stats
        print(f"| {name} | {stats['median']:.1f} | {stats['min']:.1f} | {stats['p90']:.1f} |")

    taken = set(pick)
    check = [photo(p, *SIZES[0]) for p in (sweep.list_images(args.eval[0])[:4]
                                           if args.eval else [])]
    check += [photo(p, *SIZES[1]) for p in [p for p in photos if p not in taken][:4]]
    cases = [hinted(rgb, 10, rng) for rgb in check]
    reference = [colorizer.predict_ab(*c) for c in cases]
    print(f"\nab against torch, {len(cases)} images, 10 hints each\n")
    print("| network | max abs ab difference | mean abs ab difference |\n|---|---:|---:|")
    for name, net in nets.items():
        colorizer._openvino = net
        diffs = [np.abs(colorizer.predict_ab(*c) - r) for c, r in zip(cases, reference,
                                                                       strict=True)]
        colorizer._openvino = None
        stats = {"max": max(float(d.max()) for d in diffs),
                 "mean": float(np.mean([d.mean() for d in diffs]))}
        report["ab_difference"][name] = stats
        print(f"| {name} | {stats['max']:.3f} | {stats['mean']:.4f} |", flush=True)

    report["sweep"] = {}
    int8 = nets["OpenVINO int8 (float layers bf16)"]
    for directory in args.eval:
        def torch_ab(lightness: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray
                     ) -> np.ndarray:
            colorizer._openvino = None
            return colorizer.predict_ab(lightness, hint_ab, mask)

        def int8_ab(lightness: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray
                    ) -> np.ndarray:
            colorizer._openvino = int8
            try:
                return colorizer.predict_ab(lightness, hint_ab, mask)
            finally:
                colorizer._openvino = None

        result = sweep.sweep_dataset(directory, {"torch": torch_ab, "int8": int8_ab},
                                     log=lambda _msg: None)
        report["sweep"][directory.name] = result
        print(f"\n**{directory.name}** ({len(result['images'])} images, mean PSNR dB)\n")
        print("| N | torch | int8 | int8 - torch | largest per-image difference |")
        print("|---:|---:|---:|---:|---:|")
        for n in sweep.SWEEP_N:
            a = np.asarray(result["psnr"]["torch"][str(n)])
            b = np.asarray(result["psnr"]["int8"][str(n)])
            print(f"| {n} | {a.mean():.2f} | {b.mean():.2f} | {b.mean() - a.mean():+.3f} "
                  f"| {np.abs(b - a).max():.2f} |", flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
