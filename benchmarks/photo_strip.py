"""Make the README's photo before/after strip with the real CLI (`vidcolor image`).

    python benchmarks/photo_strip.py PHOTO --points 10 --out docs/photo_strip.png

The photo is made gray; ``--points`` hints are taken from its true colors (patch-mean ab
at Gaussian locations around the centre, as in the SIGGRAPH17 protocol) and written as a
hint file; ``vidcolor image`` colorizes the gray photo with them. The strip shows: gray
input, the hints drawn on it, vidcolor's output, the true colors.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from vidcolor.color import lab_to_rgb, rgb_to_lab


def pick_hints(rgb: np.ndarray, count: int, patch: float, seed: int) -> list[dict]:
    """``count`` point hints whose ab is the true patch mean, at Gaussian locations."""
    h, w = rgb.shape[:2]
    lab = rgb_to_lab(rgb)
    rng = np.random.default_rng(seed)
    side = max(1, round(patch * min(h, w)))
    points = []
    while len(points) < count:
        y, x = rng.normal((h / 2, w / 2), (h / 4, w / 4))
        if not (0 <= y < h - side and 0 <= x < w - side):
            continue
        y0, x0 = int(y), int(x)
        a, b = lab[y0:y0 + side, x0:x0 + side, 1:].reshape(-1, 2).mean(axis=0)
        points.append({"x": (x0 + side / 2) / w, "y": (y0 + side / 2) / h,
                       "ab": [round(float(a), 2), round(float(b), 2)], "size": patch})
    return points


def draw_hints(gray_rgb: np.ndarray, points: list[dict], light: float = 60.0) -> np.ndarray:
    """The gray picture with each hint drawn as a ringed dot of its color."""
    out = gray_rgb.copy()
    h, w = out.shape[:2]
    radius = max(3, min(h, w) // 40)
    for p in points:
        color = lab_to_rgb(np.array([[[light, *p["ab"]]]], np.float32))[0, 0]
        centre = (int(p["x"] * w), int(p["y"] * h))
        cv2.circle(out, centre, radius + 1, (255, 255, 255), -1)
        cv2.circle(out, centre, radius, tuple(int(c) for c in color), -1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--patch", type=float, default=0.025, help="hint side / shorter side")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("docs/photo_strip.png"))
    args = parser.parse_args()

    bgr = cv2.imread(str(args.photo), cv2.IMREAD_COLOR)
    if bgr is None:
        sys.exit(f"{args.photo}: cannot be read as an image")
    scale = args.height / bgr.shape[0]
    bgr = cv2.resize(bgr, (round(bgr.shape[1] * scale), args.height), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    points = pick_hints(rgb, args.points, args.patch, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        gray_path, hints_path, out_path = (Path(tmp) / n for n in ("gray.png", "h.json", "c.png"))
        cv2.imwrite(str(gray_path), gray)
        hints_path.write_text(json.dumps({"version": 1, "points": points}, indent=1))
        subprocess.run([sys.executable, "-m", "vidcolor", "image", str(gray_path), "-o",
                        str(out_path), "--hints", str(hints_path), "--device", "cpu"], check=True)
        colored = cv2.cvtColor(cv2.imread(str(out_path)), cv2.COLOR_BGR2RGB)
    gray_rgb = np.repeat(gray[..., None], 3, axis=2)
    strip = np.hstack([gray_rgb, draw_hints(gray_rgb, points), colored, rgb])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))

    def psnr(a: np.ndarray) -> float:
        return float(10 * np.log10(255**2 / np.mean((a.astype(float) - rgb) ** 2)))

    print(f"{args.out}: RGB PSNR gray {psnr(gray_rgb):.2f} dB, vidcolor {psnr(colored):.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
