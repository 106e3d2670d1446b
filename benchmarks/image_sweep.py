"""The SIGGRAPH17 image sweep: PSNR against the number of user hints.

Protocol (Zhang et al. 2017, section 4.1, as in their evaluation code):

* every image is resized to 256x256 (area interpolation) and converted to Lab;
* for N in {0, 1, 2, 5, 10, 20, 50, 100, 200}, N hint patches of 6x6 px are placed at
  Gaussian locations (mean at the centre, sigma a quarter of the side, clipped into the
  image); each patch is given the mean ab of the true image over that patch;
* each method predicts ab from the true L and those hints; the result is recombined with the
  true L, converted to RGB uint8 and scored by PSNR against the resized original;
* the table gives the mean PSNR over images +- its standard error.

With ``--film-strength S`` the methods see a film-like luma instead of the true L
(:func:`vidcolor.filmlook.degrade_still`, the single-frame effects of ``degrade.py``:
softening, flicker, scratches, dust, grain; seeded per image), while the hints, the
recombination and the score keep the true L and colors.

Hints come from a generator seeded by (seed, image index, N), so every method sees exactly the
same hints, and a run with ``--limit`` scores the same hints as the first images of a full run.

Methods: ``gray`` (ab = 0), ``levin`` (Levin et al. 2004, vidcolor.models.levin),
``propagate`` (the network's edge-aware propagation input alone, no network) and
``vidcolor`` (the hint network, ``--weights``). The network runs on ``--backend torch`` by
default, the reference; ``--backend openvino`` (or ``auto``) runs it on OpenVINO, bf16 where
the CPU has it natively (:func:`vidcolor.models.inference.openvino_precision`), to check that
runtime's quality against torch's.

Example::

    nice -n 15 .venv/bin/python benchmarks/image_sweep.py \\
        ../shared/data/eval/cbsd68 ../shared/data/eval/mcmaster18 \\
        --methods gray,levin,vidcolor --weights default --out sweep.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

try:
    from vidcolor.color import gray_to_lightness, lab_to_rgb, rgb_to_lab
except ModuleNotFoundError:  # run from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from vidcolor.color import gray_to_lightness, lab_to_rgb, rgb_to_lab
from vidcolor.filmlook import degrade_still, to_gray  # noqa: E402
from vidcolor.options import BACKENDS  # noqa: E402

SWEEP_N = (0, 1, 2, 5, 10, 20, 50, 100, 200)
PATCH = 6
SIDE = 256
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

# A method maps a batch (L (B,H,W), hint_ab (B,H,W,2), mask (B,H,W)) to ab (B,H,W,2).
Method = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def list_images(directory: Path) -> list[Path]:
    """Image files directly inside ``directory``, sorted by name."""
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def load_rgb(path: Path, side: int = SIDE) -> np.ndarray:
    """Read an image as RGB uint8 and resize it to ``side`` x ``side``."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{path}: cannot be read as an image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if rgb.shape[:2] != (side, side):
        rgb = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)
    return rgb


def sample_patch_hints(
    ab: np.ndarray, n: int, rng: np.random.Generator, patch: int = PATCH
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``n`` user hints: patch-mean ab at Gaussian locations around the centre.

    Args:
        ab: ``(H, W, 2)`` float32 true chroma.
        n: number of hint patches.
        rng: the random generator (seeded per image and N by the caller).
        patch: side of each square patch in pixels.

    Returns:
        ``(hint_ab (H, W, 2) float32, mask (H, W) float32 in {0, 1})``.
    """
    h, w = ab.shape[:2]
    hint_ab = np.zeros_like(ab, dtype=np.float32)
    mask = np.zeros((h, w), dtype=np.float32)
    for _ in range(n):
        y = int(np.clip(rng.normal((h - patch + 1) / 2.0, (h - patch + 1) / 4.0), 0, h - patch))
        x = int(np.clip(rng.normal((w - patch + 1) / 2.0, (w - patch + 1) / 4.0), 0, w - patch))
        region = (slice(y, y + patch), slice(x, x + patch))
        hint_ab[region] = ab[region].reshape(-1, 2).mean(axis=0)
        mask[region] = 1.0
    return hint_ab, mask


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images of the same shape (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def gray_method(lightness: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The "predict gray" baseline: ab = 0 everywhere."""
    return np.zeros((*lightness.shape, 2), dtype=np.float32)


def levin_method(lightness: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Levin et al. 2004, one image at a time."""
    from vidcolor.models.levin import levin_colorize

    return np.stack(
        [levin_colorize(lightness[i], hint_ab[i], mask[i]) for i in range(len(lightness))]
    )


def propagate_method(lightness: np.ndarray, hint_ab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The network's extra input alone: edge-aware hint propagation (no network)."""
    from vidcolor.models.propagate import propagate_batch

    return propagate_batch(lightness, hint_ab, mask)[..., :2]


def vidcolor_method(weights: str, device: str, batch_size: int,
                    backend: str = "torch") -> Method:
    """The hint network, loaded once.

    Args:
        weights: registry name or ``.safetensors`` path.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        batch_size: frames per forward pass.
        backend: ``"torch"`` (the reference), ``"openvino"`` or ``"auto"``.

    Returns:
        The colorizer's ``predict_ab``.
    """
    from vidcolor.models.inference import HintColorizer

    colorizer = HintColorizer(weights=weights, device=device, batch_size=batch_size,
                              backend=backend)
    print(f"vidcolor: backend {colorizer.backend}, precision {colorizer.precision}",
          file=sys.stderr, flush=True)
    return colorizer.predict_ab


def sweep_dataset(
    directory: Path,
    methods: dict[str, Method],
    ns: Sequence[int] = SWEEP_N,
    seed: int = 0,
    limit: int | None = None,
    log: Callable[[str], None] = print,
    side: int = SIDE,
    on_image: Callable[[dict], None] | None = None,
    film_strength: float = 0.0,
) -> dict:
    """Score every method on every image of one folder.

    With ``film_strength > 0`` the methods see a film-degraded luma (the score still uses
    the true L). ``on_image`` is called with the partial result after every image (for checkpoints).

    Returns:
        ``{"images": [...], "psnr": {method: {N: [per-image dB]}}, "seconds": {method: s}}``.
    """
    paths = list_images(directory)[:limit]
    if not paths:
        raise SystemExit(f"{directory}: no images found (looked for {sorted(IMAGE_SUFFIXES)})")
    psnr: dict[str, dict[str, list[float]]] = {m: {str(n): [] for n in ns} for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    done: list[str] = []
    for index, path in enumerate(paths):
        rgb = load_rgb(path, side)
        lab = rgb_to_lab(rgb)
        lightness, ab = lab[..., 0], lab[..., 1:]
        hints = [
            sample_patch_hints(ab, n, np.random.default_rng((seed, index, n))) for n in ns
        ]
        seen = lightness
        if film_strength > 0:
            film = degrade_still(to_gray(rgb), film_strength,
                                 np.random.default_rng((seed, index, 7)))
            seen = gray_to_lightness(film)
        batch_l = np.repeat(seen[None], len(ns), axis=0)
        batch_ab = np.stack([h[0] for h in hints])
        batch_mask = np.stack([h[1] for h in hints])
        for name, method in methods.items():
            start = time.perf_counter()
            pred = method(batch_l, batch_ab, batch_mask)
            seconds[name] += time.perf_counter() - start
            for n, pred_ab in zip(ns, pred, strict=True):
                out = lab_to_rgb(np.concatenate([lightness[..., None], pred_ab], axis=2))
                psnr[name][str(n)].append(psnr_uint8(out, rgb))
        done.append(path.name)
        log(f"  {directory.name} {index + 1}/{len(paths)} {path.name}")
        if on_image is not None:
            on_image({"images": done, "psnr": psnr, "seconds": seconds})
    return {"images": done, "psnr": psnr, "seconds": seconds}


def summarize(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean."""
    arr = np.asarray(values, dtype=np.float64)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
    return float(arr.mean()), se


def markdown_table(name: str, result: dict, ns: Sequence[int]) -> str:
    """One markdown table: rows N, columns methods, cells mean +- s.e. in dB."""
    methods = list(result["psnr"])
    lines = [
        f"**{name}** ({len(result['images'])} images, PSNR dB, mean ± s.e.)",
        "",
        "| N | " + " | ".join(methods) + " |",
        "|---:|" + "---:|" * len(methods),
    ]
    for n in ns:
        cells = []
        for m in methods:
            mean, se = summarize(result["psnr"][m][str(n)])
            cells.append(f"{mean:.2f} ± {se:.2f}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path, help="folders of color images")
    parser.add_argument("--table-from", type=Path, default=None,
                        help="print the tables of a (possibly partial) results JSON and exit")
    parser.add_argument("--methods", default="gray,levin,vidcolor")
    parser.add_argument("--weights", default="default", help="registry name or .safetensors")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="what runs the network (default torch, the reference)")
    parser.add_argument("--batch-size", type=int, default=9)
    parser.add_argument("--ns", default=",".join(map(str, SWEEP_N)), help="hint counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first K images per folder")
    parser.add_argument("--side", type=int, default=SIDE, help="resize side (protocol: 256)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--film-strength", type=float, default=0.0,
                        help="methods see a film-like luma of this strength (scores: true L)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    if args.table_from is not None:
        saved = json.loads(args.table_from.read_text())
        for name, result in saved["datasets"].items():
            print(markdown_table(name, result, saved["protocol"]["ns"]) + "\n")
        return 0
    if not args.dirs:
        parser.error("give at least one folder of images (or --table-from)")
    ns = [int(v) for v in args.ns.split(",")]
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    methods: dict[str, Method] = {}
    for name in names:
        if name == "gray":
            methods[name] = gray_method
        elif name == "levin":
            methods[name] = levin_method
        elif name == "propagate":
            methods[name] = propagate_method
        elif name == "vidcolor":
            methods[name] = vidcolor_method(args.weights, args.device, args.batch_size,
                                            args.backend)
        else:
            parser.error(f"unknown method {name!r}; expected gray, levin, propagate or vidcolor")

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    report = {
        "protocol": {"side": args.side, "patch": PATCH, "ns": ns, "seed": args.seed,
                     "limit": args.limit, "weights": args.weights,
                     "backend": args.backend, "film_strength": args.film_strength},
        "datasets": {},
    }
    def save(name: str, result: dict) -> None:
        summary = {
            m: {str(n): dict(zip(("mean", "se"), summarize(result["psnr"][m][str(n)]),
                                 strict=True)) for n in ns}
            for m in methods
        }
        report["datasets"][name] = {**result, "summary": summary}
        if args.out:  # written after every image, so a long run keeps what it has
            tmp = args.out.with_name(args.out.name + ".tmp")
            tmp.write_text(json.dumps(report, indent=1))
            os.replace(tmp, args.out)

    for directory in args.dirs:
        result = sweep_dataset(directory, methods, ns, args.seed, args.limit, log, args.side,
                               on_image=lambda r, d=directory.name: save(d, r),
                               film_strength=args.film_strength)
        save(directory.name, result)
        print(markdown_table(directory.name, result, ns) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
