"""Palette suggestions on held-out photos: do they follow the hints? (issue 13, item 5)

Images are read and resized to 256x256 as in ``image_sweep.py``; every draw is seeded per
image, so every weights file sees the same hints and points. The eval folders
(``../shared/data/eval/{cbsd68,mcmaster18,set14}``) are never trained on. The suggestions are
the user-facing ones: :func:`vidcolor.models.palette.top_bins` with ``gamut_only=True`` on
:meth:`HintColorizer.class_probabilities`, exactly what ``vidcolor suggest`` ranks.

**1. Next to a hint, on the same surface** (``follow``). Definitions, fixed before any
result was seen:

* a *surface pixel* is one whose 7x7 neighbourhood has a true-chroma spread
  ``sqrt(var a + var b) <= 3`` ab units, at least 12 px from the border;
* the hint is a 3x3 patch (a click) at a random surface pixel ``p``, its value the 7x7
  patch-mean true ab there;
* the test point ``q`` is 4-8 px from ``p`` (uniform radius and angle) and on the same
  surface: every pixel of the straight segment ``p -> q`` (one sample per pixel step)
  has true ab within 10 units of the hint, and lightness changes by at most 5 L units
  between consecutive samples (no luminance edge crossed); ``q`` carries no hint itself;
* the score is the share of trials where the top suggestion at ``q`` is within 15 ab
  units of the hint. Trials run alone (the hint is the only one) and with 9 other random
  6x6 hints elsewhere (the sweep's Gaussian placement); hints of chroma >= 20 are also
  reported on their own ("saturated"), since gray hints are the easy case.

**2. At unhinted points** (``top5``): the sweep's N = 5 and N = 10 hints (same seeds as
``image_sweep.py``), then 64 random pixels without a hint; the score is the share where the
top-5 suggestions contain the bin of the pixel's true ab. The same head without any hint
is the hint-free prior.

Usage::

    nice -n 10 python benchmarks/palette_eval.py ../shared/data/eval/cbsd68 \\
        ../shared/data/eval/mcmaster18 --weights new=weights/vidcolor-siggraph17-q.safetensors \\
        --weights old=/tmp/old.safetensors --out palette.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_sweep import list_images, load_rgb, sample_patch_hints  # noqa: E402

from vidcolor.color import rgb_to_lab  # noqa: E402
from vidcolor.models.inference import HintColorizer  # noqa: E402
from vidcolor.models.palette import bin_centers, encode_ab, top_bins  # noqa: E402

SIDE = 256
SURFACE_WINDOW = 7
SURFACE_SPREAD = 3.0  # ab units, sqrt(var a + var b) over the 7x7 window
BORDER = 12
HINT_RADIUS = 1  # 3x3 hint patch
NEAR_MIN, NEAR_MAX = 4.0, 8.0
SAME_CHROMA = 10.0  # ab units along the segment
MAX_L_STEP = 5.0  # L units between consecutive segment samples
FOLLOW_WITHIN = 15.0  # ab units: the bar
SATURATED = 20.0
OTHER_HINTS = 9
POINTS = 64
TOP_K = 5


def surface_map(ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Surface pixels and the 7x7 mean chroma.

    Args:
        ab: ``(H, W, 2)`` float32 true chroma.

    Returns:
        ``(surface (H, W) bool, mean_ab (H, W, 2) float32)``.
    """
    k = (SURFACE_WINDOW, SURFACE_WINDOW)
    mean = cv2.blur(ab, k, borderType=cv2.BORDER_REFLECT)
    sq = cv2.blur(ab * ab, k, borderType=cv2.BORDER_REFLECT)
    spread = np.sqrt(np.maximum(sq - mean * mean, 0.0).sum(axis=2))
    surface = spread <= SURFACE_SPREAD
    surface[:BORDER] = surface[-BORDER:] = False
    surface[:, :BORDER] = surface[:, -BORDER:] = False
    return surface, mean


def same_surface(lightness: np.ndarray, ab: np.ndarray, p: tuple[int, int],
                 q: tuple[int, int], hint: np.ndarray) -> bool:
    """Whether the segment p -> q stays on the hint's surface (see the module docstring)."""
    steps = int(math.ceil(max(abs(q[0] - p[0]), abs(q[1] - p[1]))))
    t = np.linspace(0.0, 1.0, steps + 1)
    ys = np.rint(p[0] + t * (q[0] - p[0])).astype(int)
    xs = np.rint(p[1] + t * (q[1] - p[1])).astype(int)
    if np.linalg.norm(ab[ys, xs] - hint, axis=1).max() > SAME_CHROMA:
        return False
    return bool(np.abs(np.diff(lightness[ys, xs])).max(initial=0.0) <= MAX_L_STEP)


def follow_trial(lightness, ab, surface, mean_ab, rng, others):
    """One hint and its test point, or None when the image has no usable surface.

    Returns:
        ``(hint_ab (H, W, 2), mask (H, W), hint (2,), q (y, x))``.
    """
    ys, xs = np.nonzero(surface)
    if len(ys) == 0:
        return None
    h, w = lightness.shape
    if others:
        base_ab, base_mask = sample_patch_hints(ab, OTHER_HINTS, rng)
    else:
        base_ab, base_mask = np.zeros_like(ab), np.zeros((h, w), np.float32)
    for _ in range(200):
        i = int(rng.integers(len(ys)))
        p = (int(ys[i]), int(xs[i]))
        hint = mean_ab[p]
        patch = (slice(p[0] - HINT_RADIUS, p[0] + HINT_RADIUS + 1),
                 slice(p[1] - HINT_RADIUS, p[1] + HINT_RADIUS + 1))
        for _ in range(20):
            r, angle = rng.uniform(NEAR_MIN, NEAR_MAX), rng.uniform(0.0, 2.0 * math.pi)
            q = (int(round(p[0] + r * math.sin(angle))), int(round(p[1] + r * math.cos(angle))))
            if not (0 <= q[0] < h and 0 <= q[1] < w) or base_mask[q] > 0:
                continue
            if max(abs(q[0] - p[0]), abs(q[1] - p[1])) <= HINT_RADIUS:
                continue
            if same_surface(lightness, ab, p, q, hint):
                hint_ab, mask = base_ab.copy(), base_mask.copy()
                hint_ab[patch] = hint
                mask[patch] = 1.0
                return hint_ab, mask, hint.astype(np.float32), q
    return None


def top_ab(probs: np.ndarray, lightness: float, k: int) -> np.ndarray:
    """The ab centres of the top-k gamut-checked bins of one pixel's ``(529,)``
    distribution: ``(<= k, 2)``."""
    return bin_centers()[top_bins(probs, lightness, k)]


def eval_folder(folder: Path, colorizers: dict[str, HintColorizer], trials: int, seed: int,
                limit: int | None, log, compare_ab: bool = False) -> dict:
    """Both measurements on one folder; per-trial records.

    With ``compare_ab``, also the largest |ab| difference of every other weights' regression
    output from the first's, over every trial's whole picture (0 when they share a trunk).
    """
    follow: dict[str, list] = {name: [] for name in colorizers}
    follow_net: list = []
    top5: dict[str, dict[str, list]] = {
        name: {"prior": [], "N=5": [], "N=10": []} for name in colorizers}
    first = next(iter(colorizers.values()))
    ab_diff = dict.fromkeys(list(colorizers)[1:], 0.0)
    paths = list_images(folder)[:limit]
    for index, path in enumerate(paths):
        rgb = load_rgb(path, SIDE)
        lab = rgb_to_lab(rgb)
        lightness, ab = lab[..., 0], lab[..., 1:]
        surface, mean_ab = surface_map(ab)
        for t in range(trials):
            others = t % 2 == 1
            trial = follow_trial(lightness, ab, surface, mean_ab,
                                 np.random.default_rng((seed, index, t, 13)), others)
            if trial is None:
                continue
            hint_ab, mask, hint, (qy, qx) = trial
            meta = {"image": path.name, "others": others,
                    "saturated": bool(np.linalg.norm(hint) >= SATURATED)}
            net_ab = first.predict_ab(lightness[None], hint_ab[None], mask[None])[0]
            net = net_ab[qy, qx]
            for name in ab_diff if compare_ab else ():
                other = colorizers[name].predict_ab(lightness[None], hint_ab[None], mask[None])
                ab_diff[name] = max(ab_diff[name], float(np.abs(other[0] - net_ab).max()))
            follow_net.append({**meta, "ok": bool(np.linalg.norm(net - hint) <= FOLLOW_WITHIN)})
            for name, colorizer in colorizers.items():
                probs = colorizer.class_probabilities(lightness[None], hint_ab[None],
                                                      mask[None], points=[[qy, qx]])[0, :, 0]
                top = top_ab(probs, float(lightness[qy, qx]), 1)[0]
                dist = float(np.linalg.norm(top - hint))
                follow[name].append({**meta, "ok": dist <= FOLLOW_WITHIN, "dist": dist})
        rng = np.random.default_rng((seed, index, 29))
        configs = {"prior": (np.zeros_like(ab), np.zeros(lightness.shape, np.float32))}
        for n in (5, 10):
            configs[f"N={n}"] = sample_patch_hints(ab, n, np.random.default_rng((seed, index, n)))
        free = np.argwhere((configs["N=5"][1] == 0) & (configs["N=10"][1] == 0))
        points = free[rng.choice(len(free), size=min(POINTS, len(free)), replace=False)]
        true_bins = encode_ab(ab[points[:, 0], points[:, 1]])
        for name, colorizer in colorizers.items():
            for key, (hint_ab, mask) in configs.items():
                probs = colorizer.class_probabilities(lightness[None], hint_ab[None],
                                                      mask[None], points=points)[0]
                hits = [
                    bool(true_bins[j] in top_bins(probs[:, j], float(lightness[y, x]), TOP_K))
                    for j, (y, x) in enumerate(points)
                ]
                top5[name][key].append(float(np.mean(hits)))
        log(f"  {folder.name} {index + 1}/{len(paths)} {path.name}")
    return {"images": len(paths), "follow": follow, "follow_network_output": follow_net,
            "top5": top5, "max_ab_diff": ab_diff if compare_ab else None}


def share(records: Sequence[dict], **where) -> tuple[float, int]:
    """Share of ``ok`` records matching ``where`` (in %), and their count."""
    rows = [r for r in records if all(r[k] == v for k, v in where.items())]
    return (100.0 * float(np.mean([r["ok"] for r in rows])) if rows else math.nan, len(rows))


def markdown(results: dict[str, dict]) -> str:
    """The two tables of the model card."""
    names = list(next(iter(results.values()))["follow"])
    lines = ["**Next to a hint, same surface: top suggestion within 15 ab of the hint "
             "(% of trials; target >= 80)**", "",
             "| set | hints | trials | " + " | ".join(f"{n} head" for n in names)
             + " | network ab output |", "|---|---|---:|" + "---:|" * (len(names) + 1)]
    for folder, res in results.items():
        for label, where in (("alone", {"others": False}), ("+9 others", {"others": True}),
                             ("all", {}), ("all, saturated (>= 20)", {"saturated": True})):
            cells = [share(res["follow"][n], **where) for n in names]
            net = share(res["follow_network_output"], **where)
            lines.append(f"| {folder} | {label} | {cells[0][1]} | "
                         + " | ".join(f"{c[0]:.1f}" for c in cells) + f" | {net[0]:.1f} |")
    lines += ["", "**Unhinted points: true color's bin in the top 5 (% of points, mean over "
              "images)**", "", "| set | " + " | ".join(
                  f"{n} {k}" for n in names for k in ("prior", "N=5", "N=10")) + " |",
              "|---|" + "---:|" * (3 * len(names))]
    for folder, res in results.items():
        cells = [f"{100.0 * np.mean(res['top5'][n][k]):.1f}" for n in names
                 for k in ("prior", "N=5", "N=10")]
        lines.append(f"| {folder} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="folders of held-out color images")
    parser.add_argument("--weights", action="append", required=True,
                        help="LABEL=registry name or .safetensors path (repeat)")
    parser.add_argument("--trials", type=int, default=8, help="hint trials per image")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first K images per folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None, help="write the records as JSON")
    parser.add_argument("--compare-ab", action="store_true",
                        help="also report max |ab diff| of the regression outputs")
    args = parser.parse_args(argv)
    colorizers = {}
    for item in args.weights:
        label, _, weights = item.partition("=")
        colorizers[label] = HintColorizer(weights or label, device=args.device, batch_size=1)
    start = time.perf_counter()
    results = {d.name: eval_folder(d, colorizers, args.trials, args.seed, args.limit,
                                   lambda m: print(m, file=sys.stderr), args.compare_ab)
               for d in args.dirs}
    table = markdown(results)
    print(table)
    if args.compare_ab:
        for folder, res in results.items():
            print(f"{folder}: max |ab diff| of the regression output against "
                  f"{next(iter(colorizers))}: {res['max_ab_diff']}")
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.out is not None:
        args.out.write_text(json.dumps({"args": vars(args) | {"dirs": [str(d) for d in args.dirs],
                                        "out": str(args.out)}, "results": results,
                                        "table": table}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
