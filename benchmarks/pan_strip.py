"""Draw the README's pan strip from two ``film_propagation.py --save-frames`` folders.

    python benchmarks/pan_strip.py BEFORE/106024 AFTER/106024 --out docs/pan_strip.png

Columns: the first frame, gray with its hints; the last frame (the window has panned on
to content no hint was placed on): true colors, before, after.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np


def label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    last = max(int(p.name[:3]) for p in args.after.glob("*_output.png"))
    tiles = [
        label(cv2.imread(str(args.after / "000_gray.png")), "frame 0: hints"),
        label(cv2.imread(str(args.after / f"{last:03d}_truth.png")), f"frame {last}: truth"),
        label(cv2.imread(str(args.before / f"{last:03d}_output.png")), "before"),
        label(cv2.imread(str(args.after / f"{last:03d}_output.png")), "after"),
    ]
    gap = np.full((tiles[0].shape[0], 6, 3), 255, np.uint8)
    row = np.concatenate([t for tile in tiles for t in (tile, gap)][:-1], axis=1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), row)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
