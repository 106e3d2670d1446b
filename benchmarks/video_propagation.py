"""Hint propagation through and across shots: PSNR gain over gray on real color footage.

Protocol (issue 2, item 6):

* a real color clip is made gray (BT.601 luma, encoded as a lossless H.264 gray clip);
* on the first frame of the chosen shots, 20 hint points are taken from the ground truth:
  square patches of 1.25% of the shorter side at uniformly random positions (seeded), each
  given the mean Lab ab of the true frame over its patch, written as ``<frame>.json`` hint
  files (``ab`` form);
* the gray clip is colorized through the public API (``vidcolor.colorize_video``) with that
  hints folder; the colored frames are taken from the ``on_frame`` callback (before the
  output encoder, so codec loss is not counted);
* per shot, the PSNR (RGB, full resolution, mean over frames) of the output and of the gray
  input against the true colors, for all frames, the hint frame and the other frames; the
  gain is output minus gray;
* an A-B-A' clip is built from two DAVIS sequences: ``--aba-len`` frames of sequence 1 (A),
  of sequence 2 (B), then the next ``--aba-len`` frames of sequence 1 (A': the first set-up
  seen again). Hints go on the first frames of A and B only; A' must borrow them.

Bar (issue 2): on DAVIS with 20 points on frame 0, hint-frame gain >= 2.5 dB, other frames'
gain >= 80% of it, and on A' a gain >= 60% of A's.

``--model network`` (default) runs the hint network named by ``--weights``;
``--model propagate`` runs vidcolor's edge-aware hint propagation instead of the network
(no weights needed): it measures the hint side (tracking, borrowing) on its own.
The network runs on ``--backend torch`` by default, the reference; ``--backend auto`` (or
``openvino``) runs it on OpenVINO on the CPU, to check that runtime's quality against torch's.

Usage (data paths are arguments, never part of the repo)::

    OMP_WAIT_POLICY=PASSIVE nice -n 15 .venv/bin/python benchmarks/video_propagation.py \\
        ../shared/data/video/davis/*.mp4 \\
        --aba ../shared/data/video/davis/blackswan.mp4 \\
              ../shared/data/video/davis/car-roundabout.mp4 \\
        --weights default --out propagation.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from degrade import to_gray, write_gray  # noqa: E402 - benchmarks/ is on sys.path

from vidcolor.color import rgb_to_lab  # noqa: E402
from vidcolor.options import BACKENDS  # noqa: E402

POINTS = 20
PATCH = 0.0125


@dataclass
class Clip:
    """A color clip in memory, with the shots to score and their hint frames."""

    name: str
    frames: list[np.ndarray]  # RGB uint8 ground truth
    fps: Fraction
    shots: list[tuple[int, int]]  # [start, stop)
    hinted: list[int]  # shot numbers whose first frame gets hints
    labels: list[str] = field(default_factory=list)


def read_rgb(path: Path, max_frames: int | None) -> tuple[list[np.ndarray], Fraction]:
    """Decode a clip to RGB frames (and its frame rate)."""
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or Fraction(25)
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames and len(frames) >= max_frames:
                break
    return frames, Fraction(rate)


def write_gray_clip(frames: list[np.ndarray], path: Path, fps: Fraction) -> None:
    """Encode the gray version of a clip as a lossless H.264 mp4 (``degrade.write_gray``)."""
    write_gray([to_gray(rgb) for rgb in frames], path, fps)


def sample_points(rgb: np.ndarray, rng: np.random.Generator, n: int = POINTS,
                  patch: float = PATCH) -> list[dict]:
    """``n`` hint points from the ground truth: mean true ab over random square patches."""
    h, w = rgb.shape[:2]
    side = max(1, round(patch * min(h, w)))
    lab = rgb_to_lab(rgb)
    points = []
    for _ in range(n):
        top = int(rng.integers(0, h - side + 1))
        left = int(rng.integers(0, w - side + 1))
        a, b = lab[top : top + side, left : left + side, 1:].reshape(-1, 2).mean(axis=0)
        points.append({"x": (left + side / 2) / w, "y": (top + side / 2) / h,
                       "ab": [round(float(a), 3), round(float(b), 3)], "size": patch})
    return points


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two uint8 images, dB (capped at 100)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse <= 1e-10 else 10.0 * math.log10(255.0**2 / mse)


class PropagationModel:
    """Edge-aware hint propagation in place of the network (``--model propagate``)."""

    device = "cpu"

    def predict_ab(self, lightness, hint_ab, hint_mask):
        from vidcolor.models.propagate import propagate_batch

        return propagate_batch(np.asarray(lightness), np.asarray(hint_ab),
                               np.asarray(hint_mask))[..., :2]


def make_colorizer(args: argparse.Namespace):
    import vidcolor.api as api

    if args.model == "propagate":
        return api.Colorizer.from_model(PropagationModel(), batch_size=args.batch_size,
                                        working_size=args.working_size)
    return api.Colorizer(args.weights, args.device, batch_size=args.batch_size,
                         working_size=args.working_size, backend=args.backend)


def evaluate(clip: Clip, colorizer, work: Path, seed: int, temporal: bool) -> dict:
    """Colorize one clip with hints on its hinted shots and score every shot."""
    rng = np.random.default_rng(seed)
    gray_path = work / f"{clip.name}_gray.mp4"
    write_gray_clip(clip.frames, gray_path, clip.fps)
    hints_dir = work / f"{clip.name}_hints"
    hints_dir.mkdir(exist_ok=True)
    hint_frames = [clip.shots[s][0] for s in clip.hinted]
    for index in hint_frames:
        doc = {"version": 1, "frame": index,
               "points": sample_points(clip.frames[index], rng)}
        (hints_dir / f"{index:06d}.json").write_text(json.dumps(doc))
    h, w = clip.frames[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    out_psnr: dict[int, float] = {}
    gray_psnr: dict[int, float] = {}

    def on_frame(frame) -> None:
        truth = clip.frames[frame.index][:h, :w]
        out_psnr[frame.index] = psnr(frame.color, truth)
        gray_psnr[frame.index] = psnr(np.repeat(frame.gray[:, :, None], 3, axis=2), truth)

    started = time.perf_counter()
    report = colorizer.colorize_video(gray_path, work / f"{clip.name}_color.mp4",
                                      hints=hints_dir, on_frame=on_frame, temporal=temporal,
                                      overwrite=True)
    seconds = time.perf_counter() - started
    rows = []
    for number, (start, stop) in enumerate(clip.shots):
        frames = [i for i in range(start, stop) if i in out_psnr]
        hinted = [i for i in frames if i in hint_frames]
        others = [i for i in frames if i not in hint_frames]

        def mean(values: list[float]) -> float | None:
            return float(np.mean(values)) if values else None

        row = {"shot": number, "label": clip.labels[number] if clip.labels else str(number),
               "start": start, "stop": stop, "hinted": bool(hinted)}
        for group, idx in (("all", frames), ("hint", hinted), ("other", others)):
            o, g = mean([out_psnr[i] for i in idx]), mean([gray_psnr[i] for i in idx])
            row[f"psnr_{group}"] = o
            row[f"gray_{group}"] = g
            row[f"gain_{group}"] = None if o is None else o - g
        rows.append(row)
    return {"clip": clip.name, "frames": len(out_psnr), "seconds": round(seconds, 1),
            "cuts_detected": list(report.cuts),
            "borrowed": {str(k): v for k, v in report.borrowed.items()}, "shots": rows}


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}" if abs(value) < 20 else f"{value:.2f}"


def print_table(results: list[dict]) -> None:
    print("| clip | shot | hinted | gray all | out all | gain all | gain hint | gain other |"
          " other/hint |")
    print("|---|---|---|---|---|---|---|---|---|")
    for res in results:
        for row in res["shots"]:
            ratio = (row["gain_other"] / row["gain_hint"]
                     if row["gain_hint"] and row["gain_other"] is not None else None)
            print(f"| {res['clip']} | {row['label']} | {'yes' if row['hinted'] else 'no'} "
                  f"| {row['gray_all']:.2f} | {row['psnr_all']:.2f} | {fmt(row['gain_all'])} "
                  f"| {fmt(row['gain_hint'])} | {fmt(row['gain_other'])} "
                  f"| {'-' if ratio is None else f'{ratio:.0%}'} |")


def summary(results: list[dict]) -> dict:
    """The bar of issue 2, over single-shot clips (hint/other) and the A-B-A' clip."""
    singles = [r["shots"][0] for r in results if r["clip"] != "ABA" and len(r["shots"]) == 1]
    out: dict = {}
    if singles:
        hint = float(np.mean([s["gain_hint"] for s in singles]))
        other = float(np.mean([s["gain_other"] for s in singles]))
        out.update(mean_gain_hint=hint, mean_gain_other=other,
                   other_over_hint=other / hint if hint else None,
                   bar_hint_ge_2_5=hint >= 2.5, bar_other_ge_80pct=other >= 0.8 * hint)
    for r in results:
        if r["clip"] == "ABA":
            a, a2 = r["shots"][0]["gain_all"], r["shots"][2]["gain_all"]
            out.update(gain_A=a, gain_A_prime=a2, a_prime_over_a=a2 / a if a else None,
                       bar_a_prime_ge_60pct=a2 >= 0.6 * a, aba_borrowed=r["borrowed"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="*", type=Path, help="color clips, one shot each "
                        "unless --cuts is given for them")
    parser.add_argument("--cuts", default="", help="known cuts of the clips, e.g. 50,125 "
                        "(applies to every clip given)")
    parser.add_argument("--hint-shots", default="all", help="'all' or shot numbers, e.g. 0,2")
    parser.add_argument("--aba", nargs=2, type=Path, metavar=("SEQ_A", "SEQ_B"),
                        help="build an A-B-A' clip from two sequences")
    parser.add_argument("--aba-len", type=int, default=25)
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--model", choices=("network", "propagate"), default="network")
    parser.add_argument("--weights", default="default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="what runs the network (default torch, the reference)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--working-size", type=int, default=256)
    parser.add_argument("--no-temporal", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="keep intermediate files here")
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    clips: list[Clip] = []
    cuts = [int(c) for c in args.cuts.split(",") if c.strip()]
    for path in args.clips:
        frames, fps = read_rgb(path, args.max_frames)
        bounds = [0, *[c for c in cuts if 0 < c < len(frames)], len(frames)]
        shots = list(zip(bounds[:-1], bounds[1:], strict=True))
        hinted = (list(range(len(shots))) if args.hint_shots == "all"
                  else [int(s) for s in args.hint_shots.split(",")])
        clips.append(Clip(path.stem, frames, fps, shots, hinted))
    if args.aba:
        n = args.aba_len
        seq_a, fps = read_rgb(args.aba[0], 2 * n)
        seq_b, _ = read_rgb(args.aba[1], n)
        if len(seq_a) < 2 * n or len(seq_b) < n:
            parser.error(f"--aba needs {2 * n} frames of SEQ_A and {n} of SEQ_B")
        size = (seq_a[0].shape[1], seq_a[0].shape[0])
        seq_b = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in seq_b]
        frames = seq_a[:n] + seq_b + seq_a[n:]
        clips.append(Clip("ABA", frames, fps, [(0, n), (n, 2 * n), (2 * n, 3 * n)], [0, 1],
                          ["A", "B", "A'"]))
    if not clips:
        parser.error("give clips and/or --aba")

    colorizer = make_colorizer(args)
    results = []
    with tempfile.TemporaryDirectory(prefix="vidcolor-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for clip in clips:
            res = evaluate(clip, colorizer, work, args.seed, temporal=not args.no_temporal)
            print(f"{clip.name}: {res['frames']} frames in {res['seconds']} s, "
                  f"cuts detected {res['cuts_detected']}, borrowed {res['borrowed']}",
                  file=sys.stderr)
            results.append(res)
    print_table(results)
    summ = summary(results)
    print(json.dumps(summ, indent=1))
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                        "results": results, "summary": summ}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
