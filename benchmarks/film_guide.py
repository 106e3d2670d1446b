"""Are the edge-aware propagation and the chroma upsampling steered by film grain? (issue 12.4)

Both use the luma as their edge guide. On held-out photos, this compares each with a clean
guide (the true gray), a film-like guide (:func:`vidcolor.filmlook.degrade_still`, strength
``--strength``, seeded per image) and that film guide smoothed for the analysis only (a
Gaussian blur of sigma 1 px, and a bilateral filter) -- the output's own luma is never
changed. Scores are PSNR (RGB uint8) of the true L recombined with the method's ab, against
the original.

* **propagation** (``vidcolor.models.propagate``, the network's extra input): images at
  256x256, the sweep's N 6x6 hints (``image_sweep.sample_patch_hints``, same seeds);
* **upsampling** (``vidcolor.run.compose.upsample_ab``, guided filter): the true ab at the
  working size (shorter side 256) upsampled to the image's own size, guided by the
  full-size luma. A perfect working-size chroma isolates what the guide does.

Usage::

    nice -n 10 python benchmarks/film_guide.py ../shared/data/eval/cbsd68 \\
        ../shared/data/eval/mcmaster18 --strength 1 --out film_guide.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_sweep import list_images, load_rgb, psnr_uint8, sample_patch_hints  # noqa: E402

from vidcolor.color import gray_to_lightness, lab_to_rgb, rgb_to_lab  # noqa: E402
from vidcolor.filmlook import degrade_still, to_gray  # noqa: E402
from vidcolor.frames import working_shape  # noqa: E402
from vidcolor.models.propagate import propagate_batch  # noqa: E402
from vidcolor.run.compose import upsample_ab  # noqa: E402

NS = (10, 100)

GUIDES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "clean": lambda clean, film: clean,
    "film": lambda clean, film: film,
    "film, gaussian 1px": lambda clean, film: cv2.GaussianBlur(film, (0, 0), 1.0),
    "film, bilateral": lambda clean, film: cv2.bilateralFilter(film, 5, 25, 3),
}


def score(lightness: np.ndarray, ab: np.ndarray, rgb: np.ndarray) -> float:
    """PSNR of the true L with ``ab`` against the original RGB."""
    return psnr_uint8(lab_to_rgb(np.dstack([lightness, ab]).astype(np.float32)), rgb)


def run_folder(folder: Path, strength: float, seed: int, limit: int | None) -> dict:
    """Per-image PSNR for every guide: ``{"propagation N=n": {guide: [...]}, "upsampling":
    {guide: [...]}}``."""
    out: dict[str, dict[str, list[float]]] = {
        **{f"propagation N={n}": {g: [] for g in GUIDES} for n in NS},
        "upsampling": {g: [] for g in GUIDES},
    }
    for index, path in enumerate(list_images(folder)[:limit]):
        rgb = load_rgb(path, 256)
        lab = rgb_to_lab(rgb)
        gray = to_gray(rgb)
        film = degrade_still(gray, strength, np.random.default_rng((seed, index, 7)))
        for n in NS:
            hint_ab, mask = sample_patch_hints(lab[..., 1:], n,
                                               np.random.default_rng((seed, index, n)))
            for name, guide in GUIDES.items():
                g = gray_to_lightness(guide(gray, film))
                ab = propagate_batch(g[None], hint_ab[None], mask[None])[0, ..., :2]
                out[f"propagation N={n}"][name].append(score(lab[..., 0], ab, rgb))
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        full = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        full_lab = rgb_to_lab(full)
        h, w = full.shape[:2]
        wh, ww = working_shape(h, w, 256, 8)
        small_ab = cv2.resize(full_lab[..., 1:], (ww, wh), interpolation=cv2.INTER_AREA)
        full_gray = to_gray(full)
        full_film = degrade_still(full_gray, strength, np.random.default_rng((seed, index, 8)))
        for name, guide in GUIDES.items():
            ab = upsample_ab(small_ab, guide(full_gray, full_film))
            out["upsampling"][name].append(score(full_lab[..., 0], ab, full))
        print(f"  {folder.name} {index + 1} {path.name}", file=sys.stderr)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--strength", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = {d.name: run_folder(d, args.strength, args.seed, args.limit) for d in args.dirs}
    print(f"film strength {args.strength}; PSNR dB, mean over images\n")
    print("| set | stage | " + " | ".join(f"{g} guide" for g in GUIDES) + " |")
    print("|---|---|" + "---:|" * len(GUIDES))
    for folder, res in results.items():
        for stage, by_guide in res.items():
            print(f"| {folder} | {stage} | "
                  + " | ".join(f"{np.mean(v):.2f}" for v in by_guide.values()) + " |")
    if args.out is not None:
        args.out.write_text(json.dumps({"strength": args.strength, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
