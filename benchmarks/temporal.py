"""Temporal consistency of vidcolor's output: warping error, CDC and PSNR, with and without
the temporal stage, against the ground truth and the gray input.

Metrics (pure functions below, unit-tested in tests/test_temporal.py):

* **E_warp** (Lai et al., ECCV 2018): for each consecutive pair, frame ``t - 1`` of the video
  under test is backward-warped onto frame ``t`` with the optical flow computed on the
  *ground-truth* frames (DIS medium on their luma, full resolution), and the squared RGB
  difference (RGB in [0, 1]) is averaged over the non-occluded pixels (Ruder et al. 2016:
  forward-backward consistency plus motion boundaries) and the three channels; E_warp is the
  mean over pairs. Pairs across a known cut are skipped. Lower is steadier; a gray video is
  trivially steady, so E_warp is always reported next to PSNR.
* **CDC** (Liu et al., TCVC 2021): mean Jensen-Shannon divergence of each RGB channel's
  256-bin histogram between frames ``i`` and ``i + d``, averaged over ``d`` in 1, 2, 4
  (weights 1/3) and over channels. Pairs across a cut are skipped.
* **PSNR**: mean over frames of the RGB PSNR (uint8, peak 255) against the ground truth.

Protocol: each color clip is made gray (its Y plane, chroma neutral, lossless x264), 20 hint
points are taken from the ground truth on frame 0 (random positions with a fixed seed,
square patches of 1.25% of the shorter side, their mean color), and the full pipeline
(``vidcolor.Colorizer.colorize_video``) runs once per temporal setting.

Usage::

    python benchmarks/temporal.py ../shared/data/video --weights PATH.safetensors \\
        [--clips davis/*.mp4 bikes_5cuts.mp4] [--max-frames 60] [--json out.json]
    python benchmarks/temporal.py ../shared/data/video --film 1 [--seed 0]  # film-like input
        # (benchmarks/degrade.py); output chroma scored on the true lightness
    python benchmarks/temporal.py ../shared/data/video --model propagate   # no network:
        # the edge-aware hint propagation of vidcolor.models.propagate, per frame
    python benchmarks/temporal.py --smooth-speed --warp-speed  # the stage's own cost per frame
    python benchmarks/temporal.py ../shared/data/video --flow-presets  # DIS preset choice
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vidcolor.temporal.flow import (  # noqa: E402
    FlowEstimator,
    forward_backward_mask,
    warp_image,
)

KNOWN_CUTS = {"bikes_5cuts.mp4": [30, 76, 137, 187, 242], "davis_3shots.mp4": [50, 125]}
HINT_POINTS = 20
HINT_SIZE = 0.0125
CDC_DILATIONS = (1, 2, 4)


# --------------------------------------------------------------------------- metrics


def same_shot(i: int, j: int, cuts: list[int]) -> bool:
    """True when frames ``i`` and ``j`` lie in the same shot (no cut ``c`` with i < c <= j)."""
    lo, hi = min(i, j), max(i, j)
    return not any(lo < c <= hi for c in cuts)


def gt_flows(gt: np.ndarray, cuts: list[int] = (), preset: str = "medium") -> list:
    """Backward flows and non-occlusion masks of a ground-truth video.

    Args:
        gt: ``(T, H, W, 3)`` uint8 RGB ground-truth frames.
        cuts: frames that start a new shot; pairs across them get None.
        preset: DIS preset.

    Returns:
        ``T - 1`` entries, entry ``t - 1`` for the pair ``(t - 1, t)``: ``(bwd, mask)`` with
        ``bwd`` the ``(H, W, 2)`` flow from frame ``t`` to ``t - 1`` and ``mask`` the ``(H, W)``
        bool non-occlusion mask on frame ``t``, or None across a cut.
    """
    est = FlowEstimator(preset)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in gt]
    out = []
    for t in range(1, len(gt)):
        if not same_shot(t - 1, t, list(cuts)):
            out.append(None)
            continue
        bwd = est(gray[t], gray[t - 1])
        fwd = est(gray[t - 1], gray[t])
        out.append((bwd, forward_backward_mask(bwd, fwd, motion_boundaries=True)))
    return out


def warp_error(frames: np.ndarray, flows: list) -> float:
    """E_warp of a video given the ground truth's flows (see the module docstring).

    Args:
        frames: ``(T, H, W, 3)`` uint8 RGB frames of the video under test.
        flows: :func:`gt_flows` of the ground truth (same ``T`` and size).

    Returns:
        Mean over usable pairs of the masked mean squared RGB difference, RGB in [0, 1].
    """
    if len(flows) != len(frames) - 1:
        raise ValueError(f"{len(flows)} flows for {len(frames)} frames; expected one fewer")
    errs = []
    for t, entry in enumerate(flows, start=1):
        if entry is None:
            continue
        bwd, mask = entry
        prev = frames[t - 1].astype(np.float32) / 255.0
        cur = frames[t].astype(np.float32) / 255.0
        warped = warp_image(prev, bwd)
        sq = ((cur - warped) ** 2).mean(axis=2)
        n = int(mask.sum())
        errs.append(float(sq[mask].mean()) if n else float(sq.mean()))
    return float(np.mean(errs)) if errs else float("nan")


def _hist(frame: np.ndarray) -> np.ndarray:
    h = np.stack([np.bincount(frame[..., c].ravel(), minlength=256) for c in range(3)])
    return h.astype(np.float64) / (frame.shape[0] * frame.shape[1])


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (natural log) of two discrete distributions."""
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / b[nz])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def cdc(frames: np.ndarray, cuts: list[int] = (), dilations=CDC_DILATIONS) -> float:
    """Color distribution consistency (TCVC): lower is steadier.

    Args:
        frames: ``(T, H, W, 3)`` uint8 RGB.
        cuts: frames that start a new shot; pairs across them are skipped.
        dilations: frame distances averaged with equal weights.

    Returns:
        Mean over dilations, channels and same-shot pairs of the JS divergence between
        the frames' 256-bin channel histograms.
    """
    hists = [_hist(f) for f in frames]
    per_d = []
    for d in dilations:
        vals = [
            np.mean([js_divergence(hists[i][c], hists[i + d][c]) for c in range(3)])
            for i in range(len(frames) - d)
            if same_shot(i, i + d, list(cuts))
        ]
        if vals:
            per_d.append(float(np.mean(vals)))
    return float(np.mean(per_d)) if per_d else float("nan")


def psnr(frames: np.ndarray, gt: np.ndarray) -> float:
    """Mean over frames of the RGB PSNR in dB (uint8, peak 255)."""
    vals = []
    for a, b in zip(frames, gt, strict=True):
        mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
        vals.append(99.0 if mse == 0 else 10 * math.log10(255.0**2 / mse))
    return float(np.mean(vals))


# --------------------------------------------------------------------------- media


def read_rgb(path: Path, max_frames: int | None = None) -> np.ndarray:
    """Every frame of a video as ``(T, H, W, 3)`` uint8 RGB."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            out.append(f.to_ndarray(format="rgb24"))
            if max_frames and len(out) >= max_frames:
                break
    return np.stack(out)


def write_gray(src: Path, dst: Path, max_frames: int | None = None) -> None:
    """A gray copy of ``src``: its Y plane, neutral chroma, lossless H.264, same timing."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        istream = inp.streams.video[0]
        ostream = out.add_stream("libx264", rate=istream.average_rate or Fraction(24))
        ostream.width, ostream.height = istream.codec_context.width, istream.codec_context.height
        ostream.pix_fmt = "yuv420p"
        ostream.time_base = istream.time_base
        ostream.options = {"qp": "0"}
        n = 0
        for frame in inp.decode(istream):
            yuv = frame.reformat(format="yuv420p")
            y = yuv.to_ndarray()[: yuv.height]  # the Y rows of the planar array
            arr = np.full((yuv.height * 3 // 2, yuv.width), 128, np.uint8)
            arr[: yuv.height] = y
            new = av.VideoFrame.from_ndarray(arr, format="yuv420p")
            new.pts, new.time_base = frame.pts, frame.time_base
            for packet in ostream.encode(new):
                out.mux(packet)
            n += 1
            if max_frames and n >= max_frames:
                break
        for packet in ostream.encode():
            out.mux(packet)


def on_true_lightness(frames: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``frames``' Lab ab on ``gt``'s Lab L, as RGB (film-like input is scored on its color)."""
    from vidcolor.color import lab_to_rgb, rgb_to_lab

    out = []
    for f, g in zip(frames, gt, strict=True):
        lab = rgb_to_lab(f)
        lab[..., 0] = rgb_to_lab(g)[..., 0]
        out.append(lab_to_rgb(lab))
    return np.stack(out)


def hint_points(gt0: np.ndarray, n: int = HINT_POINTS, size: float = HINT_SIZE, seed: int = 0):
    """``n`` point hints (HINTS_FORMAT.md v1) from a ground-truth frame: random centres,
    the mean color of a square patch of ``size`` x the shorter side around each."""
    h, w = gt0.shape[:2]
    half = max(0, int(round(size * min(h, w))) // 2)
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(n):
        x = int(rng.integers(half, w - half))
        y = int(rng.integers(half, h - half))
        patch = gt0[y - half : y + half + 1, x - half : x + half + 1].reshape(-1, 3)
        color = [int(round(v)) for v in patch.mean(axis=0)]
        points.append({"x": (x + 0.5) / w, "y": (y + 0.5) / h, "color": color, "size": size})
    return {"version": 1, "frame": 0, "points": points}


# --------------------------------------------------------------------------- models


class PropagationModel:
    """A network stand-in: vidcolor.models.propagate's edge-aware hint spreading, per frame."""

    device = "cpu"

    def predict_ab(self, lightness, hint_ab, hint_mask):
        from vidcolor.models.propagate import propagate_hints

        return np.stack(
            [
                propagate_hints(lightness[i], hint_ab[i], hint_mask[i])[..., :2]
                for i in range(len(lightness))
            ]
        )


def make_colorizer(args):
    import vidcolor

    if args.model == "propagate":
        return vidcolor.Colorizer.from_model(PropagationModel(), batch_size=args.batch_size)
    return vidcolor.Colorizer(args.weights, device=args.device, batch_size=args.batch_size)


# --------------------------------------------------------------------------- runs


def run_clip(colorizer, video_dir: Path, rel: str, settings: dict, args, work: Path) -> dict:
    src = video_dir / rel
    stem = Path(rel).stem
    gt = read_rgb(src, args.max_frames)
    gray_path = work / f"{stem}_gray.mp4"
    if args.film > 0:
        from degrade import degrade_frames
        from degrade import write_gray as write_film

        rate = av.open(str(src)).streams.video[0].average_rate or Fraction(24)
        write_film(degrade_frames(list(gt), args.film, args.seed), gray_path, Fraction(rate))
        gt = gt[:, : gt.shape[1] - gt.shape[1] % 2, : gt.shape[2] - gt.shape[2] % 2]
    else:
        write_gray(src, gray_path, args.max_frames)
    gray = read_rgb(gray_path)
    if args.film > 0:  # score on the true lightness: the input's luma is degraded on purpose
        gray = on_true_lightness(gray, gt)
    hints_dir = work / f"{stem}_hints"
    hints_dir.mkdir(exist_ok=True)
    (hints_dir / "0.json").write_text(json.dumps(hint_points(gt[0])))
    cuts = [c for c in KNOWN_CUTS.get(Path(rel).name, []) if c < len(gt)]
    flows = gt_flows(gt, cuts)
    row = {"clip": rel, "frames": len(gt)}
    row["gt"] = {"ewarp": warp_error(gt, flows), "cdc": cdc(gt, cuts)}
    row["gray"] = {"ewarp": warp_error(gray, flows), "cdc": cdc(gray, cuts), "psnr": psnr(gray, gt)}
    for name, opts in settings.items():
        dst = work / f"{stem}_{name}.mp4"
        t0 = time.perf_counter()
        colorizer.colorize_video(gray_path, dst, hints_dir, overwrite=True, **opts)
        seconds = time.perf_counter() - t0
        out = read_rgb(dst)
        if args.film > 0:
            out = on_true_lightness(out, gt)
        row[name] = {
            "ewarp": warp_error(out, flows),
            "cdc": cdc(out, cuts),
            "psnr": psnr(out, gt),
            "seconds": seconds,
        }
    return row


def print_table(rows: list[dict], settings: list[str]) -> None:
    cols = ["gt", "gray", *settings]
    print(
        "| clip | frames | "
        + " | ".join(f"E_warp {c}" for c in cols)
        + " | "
        + " | ".join(f"CDC {c}" for c in cols)
        + " | "
        + " | ".join(f"PSNR {c}" for c in cols[1:])
        + " | "
        + " | ".join(f"s {c}" for c in settings)
        + " |"
    )
    print("|---" * (2 + 3 * len(cols) - 1 + len(settings)) + "|")
    allrows = [*rows]
    if len(rows) > 1:
        mean = {"clip": "**mean**", "frames": sum(r["frames"] for r in rows)}
        for c in cols:
            mean[c] = {k: float(np.mean([r[c][k] for r in rows])) for k in rows[0][c]}
        allrows.append(mean)
    for r in allrows:
        cells = [r["clip"], str(r["frames"])]
        cells += [f"{1000 * r[c]['ewarp']:.3f}" for c in cols]
        cells += [f"{1000 * r[c]['cdc']:.3f}" for c in cols]
        cells += [f"{r[c]['psnr']:.2f}" for c in cols[1:]]
        cells += [f"{r[c]['seconds']:.0f}" for c in settings]
        print("| " + " | ".join(cells) + " |")
    print("(E_warp and CDC x 1000)")


def smooth_speed(size=(256, 456), frames=48) -> None:
    """Time the temporal stage alone (per frame, working resolution) on this machine."""
    import torch

    from vidcolor.options import TemporalOptions
    from vidcolor.temporal.smooth import smooth_shot

    h, w = size
    rng = np.random.default_rng(0)
    ab = torch.from_numpy(rng.normal(0, 20, (frames, 2, h, w)).astype(np.float32))
    luma = rng.integers(0, 256, (frames, h, w), dtype=np.uint8)
    flow = torch.from_numpy(rng.normal(0, 2, (frames, 2, h, w)).astype(np.float32))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        for window in (0, 4):
            opts = TemporalOptions(window=window)
            args = (ab.to(dev), torch.from_numpy(luma).to(dev), (flow.to(dev), -flow.to(dev)))
            smooth_shot(*args, opts)  # warm-up
            if dev == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            smooth_shot(*args, opts)
            if dev == "cuda":
                torch.cuda.synchronize()
            dt = (time.perf_counter() - t0) / frames
            print(f"smooth {dev} {h}x{w} window={window}: {1000 * dt:.1f} ms/frame")


def flow_presets(video_dir: Path, frames: int = 30) -> None:
    """DIS presets at working resolution: time per flow, luma residual on consistent pixels
    of real pairs (DAVIS), and end-point error on synthetic smooth warps of real frames."""
    from vidcolor.temporal.flow import PRESETS

    clips = sorted((video_dir / "davis").glob("*.mp4"))
    data = []
    for c in clips:
        rgb = read_rgb(c, frames)
        h, w = rgb.shape[1:3]
        s = 256 / min(h, w)
        size = (round(w * s / 8) * 8, round(h * s / 8) * 8)
        data.append(
            [
                cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
                for f in rgb
            ]
        )
    rng = np.random.default_rng(0)
    print(
        "| preset | ms per flow | luma residual (consistent px) | consistent share "
        "| synthetic EPE (px) |"
    )
    print("|---|---|---|---|---|")
    for preset in PRESETS:
        est = FlowEstimator(preset)
        spent, n, res, share, epe = 0.0, 0, [], [], []
        for fr in data:
            for a, b in zip(fr[:-1], fr[1:], strict=True):
                t0 = time.perf_counter()
                bwd = est(b, a)
                spent += time.perf_counter() - t0
                n += 1
                fwd = est(a, b)
                r = np.abs(warp_image(a.astype(np.float32), bwd) - b.astype(np.float32))
                m = forward_backward_mask(bwd, fwd)
                res.append(r[m].mean())
                share.append(m.mean())
            a = fr[0]
            h, w = a.shape
            truth = cv2.resize(
                rng.normal(0, 4, (6, 10, 2)).astype(np.float32),
                (w, h),
                interpolation=cv2.INTER_CUBIC,
            )
            b = warp_image(a, truth)  # b[x] = a[x + truth(x)]: the flow from b to a is truth
            epe.append(np.linalg.norm(est(b, a) - truth, axis=2)[8:-8, 8:-8].mean())
        print(
            f"| {preset} | {1000 * spent / n:.1f} | {np.mean(res):.2f} | {np.mean(share):.3f} "
            f"| {np.mean(epe):.3f} |"
        )


def warp_speed(size=(256, 456), batch=4, repeat=20) -> None:
    """cv2.remap vs kornia remap on the CPU (and kornia on CUDA when present)."""
    import torch

    from vidcolor.temporal.warp import warp_ab

    h, w = size
    ab = torch.randn(batch, 2, h, w) * 40
    flow = torch.randn(batch, 2, h, w) * 3
    runs = [("cpu", "cv2"), ("cpu", "kornia")]
    if torch.cuda.is_available():
        runs.append(("cuda", "kornia"))
    for dev, backend in runs:
        a, f = ab.to(dev), flow.to(dev)
        warp_ab(a, f, backend=backend)
        if dev == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(repeat):
            warp_ab(a, f, backend=backend)
        if dev == "cuda":
            torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / repeat / batch
        print(f"warp_ab {backend} on {dev} {h}x{w}: {1000 * dt:.2f} ms/frame")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("video_dir", type=Path, nargs="?", help="../shared/data/video")
    ap.add_argument("--clips", nargs="*", default=None, help="paths relative to video_dir")
    ap.add_argument("--weights", default="default")
    ap.add_argument("--model", choices=["network", "propagate"], default="network")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--strength", type=float, default=0.8)
    ap.add_argument("--film", type=float, default=0.0, help="degrade the input with "
                    "benchmarks/degrade.py at this strength (0: clean); scores then use the "
                    "true lightness")
    ap.add_argument("--seed", type=int, default=0, help="seed of --film")
    ap.add_argument("--windows", default="4", help="comma-separated backward windows to run")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--smooth-speed", action="store_true")
    ap.add_argument("--warp-speed", action="store_true")
    ap.add_argument("--flow-presets", action="store_true", help="needs video_dir")
    args = ap.parse_args()
    if args.smooth_speed or args.warp_speed:
        if args.warp_speed:
            warp_speed()
        if args.smooth_speed:
            smooth_speed()
        return
    if args.flow_presets:
        flow_presets(args.video_dir)
        return
    if args.video_dir is None:
        ap.error("video_dir is required")
    clips = args.clips or [
        *[f"davis/{p.name}" for p in sorted((args.video_dir / "davis").glob("*.mp4"))],
        "bikes_5cuts.mp4",
    ]
    settings = {"off": {"temporal": False}}
    for w in args.windows.split(","):
        settings[f"on_w{int(w)}"] = {
            "temporal": True,
            "temporal_strength": args.strength,
            "temporal_window": int(w),
        }
    colorizer = make_colorizer(args)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vidcolor-temporal-bench-") as tmp:
        for rel in clips:
            rows.append(run_clip(colorizer, args.video_dir, rel, settings, args, Path(tmp)))
            print(f"{rel}: " + json.dumps(rows[-1]), file=sys.stderr, flush=True)
    davis = [r for r in rows if r["clip"].startswith("davis/")]
    print_table(rows, list(settings))
    if davis:
        print(f"\nDAVIS bar checks ({len(davis)} clips, means):")
        m = {
            c: {k: float(np.mean([r[c][k] for r in davis])) for k in davis[0][c]}
            for c in davis[0]
            if isinstance(davis[0][c], dict)
        }
        for name in settings:
            if name == "off":
                continue
            print(
                f"  {name}: E_warp/E_warp(GT) = {m[name]['ewarp'] / m['gt']['ewarp']:.3f} "
                "(bar <= 1.15); "
                f"PSNR - PSNR(off) = {m[name]['psnr'] - m['off']['psnr']:+.2f} dB (bar >= -0.2); "
                f"PSNR - PSNR(gray) = {m[name]['psnr'] - m['gray']['psnr']:+.2f} dB (bar >= 2)"
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
