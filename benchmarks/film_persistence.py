"""Hint persistence on real black-and-white film: do hints on static content hold?

No ground truth is needed (issue 12, item 1). Protocol:

* the film is cut into shots by ``vidcolor shots --json``;
* on the first frame of each shot, point hints (a patch of ``--size`` of the shorter side)
  go on content that stays in view, as a user would place them: sky blue on the sky, sand
  on the ground, and so on. The hints of the bundled 1950s film are in :data:`FILM_HINTS`
  (placed by eye on its hint frames; ``--hints FILE`` gives others, same layout);
* the film is colorized through the public API (``vidcolor.Colorizer.colorize_frames``),
  with its hints on those frames only;
* a hint's content is followed with the camera: its place on frame ``t`` is its place on
  the hint frame moved by the whole picture's shift between the two frames (OpenCV phase
  correlation of the gray frames; independent of vidcolor's own tracking). Gate weave and
  a handheld camera move it; static content stays put;
* on every later frame of its shot where that place is inside the picture and its content
  is still the hinted content (the mean luma over a 9x9 patch, after dividing by the
  frame's mean luma to remove flicker, is within 12% of the hint frame's: nothing moved
  over it), the hint *holds* when the output ab (mean over a 5x5 patch) is within 12 of
  the hint's ab;
* persistence is held / visible, per shot and over all hinted static content.

Targets (issue 12): >= 90% overall and >= 80% in every shot.

Usage::

    OMP_WAIT_POLICY=PASSIVE nice -n 10 .venv/bin/python benchmarks/film_persistence.py \\
        ../shared/data/video/bw/a-bomb_blast_effects_1950s.mp4 --out persistence.json \\
        [--save-frames DIR] [--strip docs/film_strip.png --before DIR_BEFORE]

``--save-frames DIR`` keeps the hint frame of ``--strip-shot`` and the frames +10 and +40
after it; ``--strip`` draws gray input / hints / ``--before`` output / this output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidcolor.color import rgb_to_lab  # noqa: E402

SKY, SAND, WOOD, OLIVE = "#86a6cc", "#c8b08a", "#8a6a48", "#6b6e3a"
#: hints of the bundled film, by shot number: (x, y, color) on the shot's first frame.
FILM_HINTS = {
    "a-bomb_blast_effects_1950s": {
        0: [(0.75, 0.30, WOOD), (0.62, 0.42, WOOD), (0.30, 0.93, OLIVE), (0.75, 0.93, OLIVE)],
        1: [(0.08, 0.12, SKY), (0.85, 0.12, SKY), (0.60, 0.05, SKY),
            (0.08, 0.94, SAND), (0.92, 0.94, SAND)],
        2: [(0.10, 0.08, SKY), (0.50, 0.06, SKY), (0.90, 0.08, SKY),
            (0.10, 0.93, SAND), (0.50, 0.95, SAND), (0.90, 0.93, SAND)],
        3: [(0.55, 0.05, SKY), (0.95, 0.08, SKY), (0.75, 0.12, SKY),
            (0.30, 0.95, OLIVE), (0.70, 0.95, OLIVE)],
    }
}
HOLD = 12.0
SAME = 0.12


def read_gray(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray") for f in container.decode(video=0)]


def hex_ab(color: str) -> np.ndarray:
    rgb = np.array([[[int(color[i:i + 2], 16) for i in (1, 3, 5)]]], np.uint8)
    return rgb_to_lab(rgb)[0, 0, 1:]


def mean_patch(img: np.ndarray, x: float, y: float, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    top = int(np.clip(round(y - side / 2), 0, h - side))
    left = int(np.clip(round(x - side / 2), 0, w - side))
    return img[top:top + side, left:left + side].reshape(side * side, -1).mean(axis=0)


def evaluate(grays: list[np.ndarray], output: list[np.ndarray], shots: list[tuple[int, int]],
             hints: dict[int, list], size: float) -> list[dict]:
    rows = []
    labs: dict[int, np.ndarray] = {}
    for number, (start, stop) in enumerate(shots):
        if number not in hints:
            continue
        h, w = grays[start].shape
        ref_mean = grays[start].mean()
        first = grays[start].astype(np.float32)
        # The picture's shift from the hint frame to each frame of the shot.
        shifts = {t: cv2.phaseCorrelate(first, grays[t].astype(np.float32))[0]
                  for t in range(start + 1, stop)}
        held = visible = 0
        per_point = []
        for x, y, color in hints[number]:
            px, py = x * w, y * h
            ab = hex_ab(color)
            ref = mean_patch(grays[start].astype(np.float32), px, py, 9)[0] / ref_mean
            ok = vis = 0
            for t in range(start + 1, stop):
                g = grays[t].astype(np.float32)
                qx, qy = px + shifts[t][0], py + shifts[t][1]
                if not (4.5 <= qx <= w - 5.5 and 4.5 <= qy <= h - 5.5):
                    continue  # the hinted content has left the picture
                level = mean_patch(g, qx, qy, 9)[0] / max(g.mean(), 1.0)
                if abs(level - ref) > SAME * ref:
                    continue  # something else is in front of the hinted content
                vis += 1
                if t not in labs:
                    labs[t] = rgb_to_lab(output[t])
                out_ab = mean_patch(labs[t], qx, qy, 5)[1:]
                ok += bool(np.linalg.norm(out_ab - ab) <= HOLD)
            per_point.append({"x": x, "y": y, "color": color, "held": ok, "visible": vis})
            held, visible = held + ok, visible + vis
        rows.append({"shot": number, "start": start, "stop": stop, "held": held,
                     "visible": visible, "persistence": held / visible if visible else None,
                     "points": per_point})
    return rows


def strip(grays, before, after, frames, hints_xy, path: Path) -> None:
    """Rows: gray input with the hints marked, before, after; columns: ``frames``."""
    def tile(img):
        return img if img.ndim == 3 else np.repeat(img[:, :, None], 3, axis=2)

    rows = []
    marked = []
    for t in frames:
        g = tile(grays[t]).copy()
        h, w = g.shape[:2]
        if t == frames[0]:
            for x, y, color in hints_xy:
                rgb = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
                cv2.circle(g, (int(x * w), int(y * h)), 5, rgb, -1)
                cv2.circle(g, (int(x * w), int(y * h)), 6, (0, 0, 0), 1)
        marked.append(g)
    rows.append(np.concatenate(marked, axis=1))
    for imgs in (before, after):
        if imgs is not None:
            rows.append(np.concatenate([tile(i) for i in imgs], axis=1))
    image = np.concatenate(rows, axis=0)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("film", type=Path)
    parser.add_argument("--hints", type=Path, default=None,
                        help='JSON {"shot": [[x, y, "#rrggbb"], ...]}')
    parser.add_argument("--size", type=float, default=0.02)
    parser.add_argument("--weights", default="default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-temporal", action="store_true")
    parser.add_argument("--strip-shot", type=int, default=2)
    parser.add_argument("--save-frames", type=Path, default=None)
    parser.add_argument("--strip", type=Path, default=None)
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import vidcolor

    if args.hints:
        hints = {int(k): [tuple(p) for p in v]
                 for k, v in json.loads(args.hints.read_text()).items()}
    else:
        hints = FILM_HINTS[args.film.stem]
    grays = read_gray(args.film)
    found = subprocess.run([sys.executable, "-m", "vidcolor", "shots", "--json", str(args.film)],
                           check=True, capture_output=True, text=True).stdout
    cuts = list(json.loads(found)["cuts"])
    bounds = [0, *cuts, len(grays)]
    shots = list(zip(bounds[:-1], bounds[1:], strict=True))
    docs = {}
    for number, points in hints.items():
        start = shots[number][0]
        docs[start] = {"version": 1, "frame": start, "points": [
            {"x": x, "y": y, "color": c, "size": args.size} for x, y, c in points]}
    colorizer = vidcolor.Colorizer(args.weights, args.device)
    started = time.perf_counter()
    output = list(colorizer.colorize_frames(grays, hints=docs, temporal=not args.no_temporal))
    seconds = time.perf_counter() - started
    rows = evaluate(grays, output, shots, hints, args.size)
    print("| shot | frames | hints | visible point-frames | held | persistence |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        p = "-" if r["persistence"] is None else f"{r['persistence']:.0%}"
        print(f"| {r['shot']} | {r['start']}-{r['stop'] - 1} | {len(r['points'])} "
              f"| {r['visible']} | {r['held']} | {p} |")
    held, visible = sum(r["held"] for r in rows), sum(r["visible"] for r in rows)
    overall = held / visible if visible else None
    worst = min((r["persistence"] for r in rows if r["persistence"] is not None), default=None)
    print(f"overall {overall:.1%}, worst shot {worst:.1%}, {len(grays)} frames in "
          f"{seconds:.1f} s")
    start = shots[args.strip_shot][0]
    frames = [start, start + 10, start + 40]
    if args.save_frames:
        args.save_frames.mkdir(parents=True, exist_ok=True)
        for t in frames:
            cv2.imwrite(str(args.save_frames / f"{t:06d}.png"),
                        cv2.cvtColor(output[t], cv2.COLOR_RGB2BGR))
    if args.strip:
        before = None
        if args.before:
            before = [cv2.cvtColor(cv2.imread(str(args.before / f"{t:06d}.png")),
                                   cv2.COLOR_BGR2RGB) for t in frames]
        strip(grays, before, [output[t] for t in frames], frames, hints[args.strip_shot],
              args.strip)
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                        "shots": rows, "overall": overall,
                                        "worst_shot": worst, "seconds": seconds}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
