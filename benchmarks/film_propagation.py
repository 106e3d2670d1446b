"""Hint propagation on clean and film-like footage: gain over gray and hint persistence.

The film-realistic counterpart of ``video_propagation.py`` (issue 12, item 1).

Protocol, per color clip (first ``--max-frames`` frames, one shot):

* two inputs: the clean gray conversion (BT.601 luma) and a film-like version made by
  ``benchmarks/degrade.py`` (grain, flicker, gate weave, dust, scratches, softening at
  ``--strength``, seeded);
* hints on frame 0 from the ground truth: 20 square patches of 1.25% of the shorter side
  at random positions (seeded, as in ``video_propagation.py``) plus ``--plain`` patches on
  the *plainest* places of the frame (lowest local luma contrast, spread apart): plain
  regions are where flow is undetermined;
* the input goes through the public API (``vidcolor.Colorizer.colorize_frames``);
* **color is scored against the true lightness**: the output's Lab ab is put on the true
  L (the input luma is degraded on purpose), and the gray baseline is the true L with ab 0.
  PSNR (RGB, full resolution) gain over that baseline, on the hint frame and on the others;
* **hint persistence**: each hint centre is followed through the clip by a reference track
  (DIS flow on the *clean true* luma at full resolution). On a frame where the true ab
  there is still within 12 of the hint's ab (the hinted content is visible there), the
  hint *holds* when the output ab (mean over a 5x5 patch) is within 12 of the hint's ab.
  Persistence is held / visible over frames 1.. (the hint frame itself is excluded), for
  random and plain hints separately;
* a **pan** case (``--pan A B``): a window slides from clip A onto clip B (placed side by
  side, each playing) and holds on B; hints only on frame 0 (all A). The frames fully on B
  are new content: their gain over gray must be >= 0.
* a **pan-back** case (``--pan-back CLIP ...``): a window of 55% of the clip's width pans
  right across the (playing) clip until the left 45%, hinted on frame 0, has left the
  picture, holds, and pans back to where it started (1/10 of the frames hold, 3/10 pan
  out, 2/10 hold away, 3/10 pan back, 1/10 hold back). Reported: the gain on the frames
  held away (new content, the right 45%, which no hint describes: >= 0 dB), the gain on
  the frames held back (the hinted content has returned), and the persistence of the hints
  that left the picture, on the frames after they came back ("persist back"). Reference
  tracks for it run on the whole uncropped clip, shifted by the known window offset; a
  track that reaches the border of the whole clip (the clip's own camera moved it out) is
  not scored from then on.
* a **pan over a still** case (``--pan-still IMAGE ...``): a window of 40% of a photo's
  width pans right across it, at rest (1/10 of the frames hold, 8/10 pan, 1/10 hold), a
  static scene where only the camera moves: the simplest "same sky after a pan". Hints on
  frame 0 (what the first window shows). "New content" is the gain on the frames whose
  window no longer overlaps the first one: the same surfaces (sky, sea, road, field) seen
  where no hint was placed, and other content; "new, no hints" is the same frames
  colorized with no hint at all (the network's own guess), the bar hints must not fall
  below there. Persistence follows each hint with the known offset.

Usage::

    OMP_WAIT_POLICY=PASSIVE nice -n 10 .venv/bin/python benchmarks/film_propagation.py \\
        ../shared/data/video/davis/{blackswan,camel,car-roundabout,cows,dog}.mp4 \\
        --pan ../shared/data/video/davis/blackswan.mp4 ../shared/data/video/davis/cows.mp4 \\
        --max-frames 40 --out film.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from degrade import degrade_frames, read_frames, to_gray  # noqa: E402

from vidcolor.color import lab_to_rgb, rgb_to_lab  # noqa: E402

POINTS = 20
PATCH = 0.0125
HOLD = 12.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two uint8 images, dB (capped at 100)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse <= 1e-10 else 10.0 * math.log10(255.0**2 / mse)


def patch_ab(lab: np.ndarray, x: float, y: float, side: int) -> np.ndarray:
    """Mean ab of ``lab`` over a ``side`` square centred at pixel ``(x, y)``."""
    h, w = lab.shape[:2]
    top = int(np.clip(round(y - side / 2), 0, h - side))
    left = int(np.clip(round(x - side / 2), 0, w - side))
    return lab[top:top + side, left:left + side, 1:].reshape(-1, 2).mean(axis=0)


def random_points(lab: np.ndarray, rng: np.random.Generator, n: int) -> list[dict]:
    h, w = lab.shape[:2]
    side = max(1, round(PATCH * min(h, w)))
    out = []
    for _ in range(n):
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        cx, cy = left + side / 2, top + side / 2
        out.append(_point(lab, cx, cy, side, "random"))
    return out


def plain_points(lab: np.ndarray, gray: np.ndarray, n: int) -> list[dict]:
    """``n`` hints on the plainest places: lowest local contrast, at least 1/8 frame apart."""
    h, w = gray.shape
    side = max(1, round(PATCH * min(h, w)))
    g = gray.astype(np.float32)
    k = max(3, (min(h, w) // 24) | 1)
    mean = cv2.blur(g, (k, k))
    std = np.sqrt(np.maximum(cv2.blur(g * g, (k, k)) - mean * mean, 0))
    margin = k
    std[:margin], std[-margin:], std[:, :margin], std[:, -margin:] = 1e9, 1e9, 1e9, 1e9
    apart = min(h, w) / 8
    out: list[dict] = []
    order = np.argsort(std, axis=None)
    for flat in order[: h * w // 4]:
        y, x = divmod(int(flat), w)
        if all((x - p["px"]) ** 2 + (y - p["py"]) ** 2 > apart**2 for p in out):
            out.append(_point(lab, x + 0.5, y + 0.5, side, "plain"))
            if len(out) == n:
                break
    return out


def hint_points(lab: np.ndarray, gray: np.ndarray, rng: np.random.Generator,
                plain: int) -> list[dict]:
    """The hints of a case: :data:`POINTS` random ones and ``plain`` on the plainest places."""
    return random_points(lab, rng, POINTS) + plain_points(lab, gray, plain)


PAN_BACK_WINDOW = 0.55  # of the clip's width
STILL_WINDOW = 0.4  # of the photo's width


def window_width(width: int, share: float) -> int:
    """A pan's window width: ``share`` of ``width``, even."""
    return int(round(share * width)) // 2 * 2


def _point(lab: np.ndarray, cx: float, cy: float, side: int, kind: str) -> dict:
    h, w = lab.shape[:2]
    a, b = patch_ab(lab, cx, cy, side)
    return {"x": cx / w, "y": cy / h, "ab": [round(float(a), 3), round(float(b), 3)],
            "size": PATCH, "kind": kind, "px": cx, "py": cy}


def reference_tracks(true_gray: list[np.ndarray], points: list[dict]) -> np.ndarray:
    """Each point's position in every frame, along DIS flow of the clean true luma."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    xy = np.array([[p["px"], p["py"]] for p in points], np.float32)
    h, w = true_gray[0].shape
    out = [xy.copy()]
    for a, b in zip(true_gray[:-1], true_gray[1:], strict=True):
        flow = dis.calc(a, b, None)
        d = cv2.remap(flow, xy[:, 0:1].T - 0.5, xy[:, 1:2].T - 0.5, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE).reshape(-1, 2)
        xy = xy + d
        out.append(xy.copy())
    return np.stack(out)  # (T, N, 2), may leave the frame


def score(truth: list[np.ndarray], output: list[np.ndarray], points: list[dict],
          tracks: np.ndarray | None, hint_frames: set[int],
          new_content: set[int] | None = None, back: set[int] | None = None,
          returned: np.ndarray | None = None) -> dict:
    """Gains against the true lightness, and persistence at the reference tracks.

    ``back`` are frames whose gain is reported as ``gain_back``; ``returned[t, j]`` marks
    the frames on which point ``j`` is back in view after having left it (its persistence
    there is ``persist_back``).
    """
    h, w = output[0].shape[:2]
    side = 5
    gains: dict[str, list[float]] = {"hint": [], "other": [], "new": [], "back": []}
    held = {"random": [0, 0], "plain": [0, 0], "back": [0, 0]}
    hint_ab = np.array([p["ab"] for p in points], np.float32)
    for t, (true_rgb, out_rgb) in enumerate(zip(truth, output, strict=True)):
        true_rgb = true_rgb[:h, :w]
        true_lab = rgb_to_lab(true_rgb)
        out_lab = rgb_to_lab(out_rgb)
        mixed = np.concatenate([true_lab[..., :1], out_lab[..., 1:]], axis=2)
        gray = np.concatenate([true_lab[..., :1], np.zeros_like(true_lab[..., 1:])], axis=2)
        gain = psnr(lab_to_rgb(mixed), true_rgb) - psnr(lab_to_rgb(gray), true_rgb)
        group = "hint" if t in hint_frames else "other"
        gains[group].append(gain)
        if new_content is not None and t in new_content:
            gains["new"].append(gain)
        if back is not None and t in back:
            gains["back"].append(gain)
        if tracks is None or t in hint_frames:
            continue
        for j, p in enumerate(points):
            x, y = tracks[t, j]
            if not (0 <= x < w and 0 <= y < h):
                continue
            if np.linalg.norm(patch_ab(true_lab, x, y, side) - hint_ab[j]) > HOLD:
                continue  # the hinted content is not (or no longer) there
            ok = np.linalg.norm(patch_ab(out_lab, x, y, side) - hint_ab[j]) <= HOLD
            held[p["kind"]][1] += 1
            held[p["kind"]][0] += int(ok)
            if returned is not None and returned[t, j]:
                held["back"][1] += 1
                held["back"][0] += int(ok)

    def mean(v: list[float]) -> float | None:
        return float(np.mean(v)) if v else None

    res = {f"gain_{k}": mean(v) for k, v in gains.items()}
    for kind, (ok, total) in held.items():
        res[f"persist_{kind}"] = ok / total if total else None
        res[f"visible_{kind}"] = total
    if returned is None:
        del res["persist_back"], res["visible_back"]
    ok = held["random"][0] + held["plain"][0]
    total = held["random"][1] + held["plain"][1]
    res["persist_all"] = ok / total if total else None
    return res


def pan_clip(a: list[np.ndarray], b: list[np.ndarray], n: int) -> tuple[list, set[int]]:
    """A window panning from clip ``a`` onto clip ``b``: 1/6 hold, 1/2 pan, 1/3 hold."""
    h, w = a[0].shape[:2]
    hold, pan = n // 6, n // 2
    frames, new = [], set()
    for t in range(n):
        fa = a[min(t, len(a) - 1)]
        fb = cv2.resize(b[min(t, len(b) - 1)], (w, h), interpolation=cv2.INTER_AREA)
        canvas = np.concatenate([fa, fb], axis=1)
        off = int(round(np.clip((t - hold) / pan, 0, 1) * w))
        frames.append(np.ascontiguousarray(canvas[:, off:off + w]))
        if off >= w:
            new.add(t)
    return frames, new


def tracker_check(truth: list[np.ndarray], grays: list[np.ndarray],
                  points: list[dict]) -> dict:
    """The tracker alone, strictly: how often a painted hint lands on the wrong color.

    The hints are tracked as a run tracks them (``vidcolor.run.shot``: the pipeline's
    flows, masks and analysis luma at the working resolution); every tracked point on a
    frame after the hint frame is a painted point-frame, and it is *wrong* where the true
    ab there (5x5 mean, full resolution) is more than 12 from the hint's.
    """
    from vidcolor.hints.format import FrameHints, HintPoint
    from vidcolor.options import ModelOptions
    from vidcolor.run.plan import ShotHints
    from vidcolor.run.shot import compute_shot_flows, track_shot_hints
    from vidcolor.run.stream import to_working
    from vidcolor.temporal.shots import Shot

    small = [to_working(g, ModelOptions.working_size) for g in grays]
    shot = Shot(0, len(small))
    pairs = list(compute_shot_flows(lambda i: small[i], shot))
    hint = FrameHints(0, points=tuple(HintPoint(p["x"], p["y"], tuple(p["ab"]), p["size"])
                                      for p in points))
    tracked = track_shot_hints(shot, lambda k: pairs[k], ShotHints(frames={0: hint}),
                               small[0].shape, lambda i: small[i])
    h, w = grays[0].shape
    painted = wrong = 0
    for t, frame in tracked.items():
        if t == 0:
            continue
        lab = rgb_to_lab(truth[t][:h, :w])
        for p in frame.points:
            painted += 1
            true_ab = patch_ab(lab, p.x * w, p.y * h, 5)
            wrong += int(np.linalg.norm(true_ab - np.asarray(p.ab)) > HOLD)
    return {"painted": painted, "wrong": wrong / painted if painted else None}


def pan_back_offsets(n: int, travel: int) -> np.ndarray:
    """Window offsets (px) of the pan-back case: hold, out, hold away, back, hold."""
    hold, pan = max(1, n // 10), max(1, 3 * n // 10)
    away = n - 2 * hold - 2 * pan
    ramp = np.linspace(0, 1, pan + 2)[1:-1]
    phase = np.concatenate([np.zeros(hold), ramp, np.ones(away), ramp[::-1], np.zeros(hold)])
    return np.round(phase * travel).astype(np.int64)


def pan_back_clip(frames: list[np.ndarray], points: list[dict]) -> dict:
    """The pan-back case of a clip: cropped frames, reference tracks, frame groups."""
    h, w = frames[0].shape[:2]
    width = window_width(w, PAN_BACK_WINDOW)
    travel = w - width
    off = pan_back_offsets(len(frames), travel)
    crops = [np.ascontiguousarray(f[:, o:o + width]) for f, o in zip(frames, off, strict=True)]
    full = reference_tracks([to_gray(f) for f in frames], points)
    # a track that reached the border of the whole clip is lost for good (the flow there
    # is undetermined): not scored from then on
    edge = (full[..., 0] < 4) | (full[..., 0] > w - 4) | (full[..., 1] < 4) \
        | (full[..., 1] > h - 4)
    full[np.maximum.accumulate(edge, axis=0)] = np.nan
    tracks = full.copy()
    tracks[:, :, 0] -= off[:, None]
    inside = (tracks[..., 0] >= 0) & (tracks[..., 0] < width) & (tracks[..., 1] >= 0) \
        & (tracks[..., 1] < h)
    left = np.maximum.accumulate(~inside, axis=0)  # has been out of the picture
    returned = left & inside
    away = {t for t in range(len(frames)) if off[t] == travel}
    last = max(away)
    back = {t for t in range(last + 1, len(frames)) if off[t] == 0}
    return {"frames": crops, "tracks": tracks, "away": away, "back": back,
            "returned": returned}


def save_pan_frames(folder: Path, truth: list[np.ndarray], grays: list[np.ndarray],
                    output: list[np.ndarray], points: list[dict]) -> None:
    """The first and last frames of a pan (truth, gray with the hints drawn, output), PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in (0, len(output) - 1):
        h, w = output[t].shape[:2]
        gray = np.repeat(grays[t][:h, :w, None], 3, axis=2)
        if t == 0:
            for p in points:
                rgb = lab_to_rgb(np.array([[[70.0, *p["ab"]]]], np.float32))[0, 0]
                centre = (int(p["px"]), int(p["py"]))
                cv2.circle(gray, centre, 5, tuple(int(c) for c in rgb), -1)
                cv2.circle(gray, centre, 6, (0, 0, 0), 1)
        for kind, img in (("truth", truth[t][:h, :w]), ("gray", gray), ("output", output[t])):
            cv2.imwrite(str(folder / f"{t:03d}_{kind}.png"), np.ascontiguousarray(img[..., ::-1]))


def read_still(path: Path) -> np.ndarray:
    """A photo as RGB uint8 with even sides (landscape: the pan needs width)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{path}: not an image")
    h, w = bgr.shape[:2]
    return np.ascontiguousarray(bgr[: h // 2 * 2, : w // 2 * 2, ::-1])


def pan_still_clip(rgb: np.ndarray, n: int, points: list[dict]) -> dict:
    """A window panning right across a still: cropped frames, tracks, new-content frames."""
    h, w = rgb.shape[:2]
    width = window_width(w, STILL_WINDOW)
    hold = max(1, n // 10)
    ramp = np.linspace(0, 1, n - 2 * hold)
    phase = np.concatenate([np.zeros(hold), ramp, np.ones(hold)])
    off = np.round(phase * (w - width)).astype(np.int64)
    frames = [np.ascontiguousarray(rgb[:, o:o + width]) for o in off]
    xy = np.array([[p["px"], p["py"]] for p in points], np.float32)
    tracks = np.repeat(xy[None], n, axis=0)
    tracks[:, :, 0] -= off[:, None]
    return {"frames": frames, "tracks": tracks,
            "new": {t for t in range(n) if off[t] >= width}}


def run(colorizer, name: str, truth: list[np.ndarray], args, new: set[int] | None = None,
        tracks_needed: bool = True, pan_back: bool = False,
        still: np.ndarray | None = None) -> list[dict]:
    rng = np.random.default_rng(args.seed)
    lab0 = rgb_to_lab(truth[0] if still is None else still)
    back = returned = None
    if still is not None:
        width = window_width(still.shape[1], STILL_WINDOW)
        points = hint_points(lab0[:, :width], to_gray(still)[:, :width], rng, args.plain)
        case = pan_still_clip(still, args.max_frames, points)
        truth, tracks, new = case["frames"], case["tracks"], case["new"]
    elif pan_back:
        # hints on the first window only (what frame 0 shows), tracks on the whole clip
        width = window_width(truth[0].shape[1], PAN_BACK_WINDOW)
        points = hint_points(lab0[:, :width], to_gray(truth[0])[:, :width], rng, args.plain)
        case = pan_back_clip(truth, points)
        truth, tracks = case["frames"], case["tracks"]
        new, back, returned = case["away"], case["back"], case["returned"]
    true_gray = [to_gray(f) for f in truth]
    if not pan_back and still is None:
        points = hint_points(lab0, true_gray[0], rng, args.plain)
        tracks = reference_tracks(true_gray, points) if tracks_needed else None
    doc = {"version": 1, "frame": 0,
           "points": [{k: p[k] for k in ("x", "y", "ab", "size")} for p in points]}
    rows = []
    for version in ("clean", "film"):
        grays = true_gray if version == "clean" else degrade_frames(
            truth, args.strength, args.seed)
        started = time.perf_counter()
        output = list(colorizer.colorize_frames(grays, hints={0: doc},
                                                temporal=not args.no_temporal))
        if args.save_frames is not None and still is not None and version == "clean":
            save_pan_frames(args.save_frames / name.split()[-1], truth, grays, output, points)
        seconds = time.perf_counter() - started
        row = {"clip": name, "input": version, "frames": len(output),
               "seconds": round(seconds, 1)}
        row.update(score(truth, output, points, tracks, {0}, new, back, returned))
        if still is not None:  # what the network gives the new content with no hint at all
            bare = list(colorizer.colorize_frames(grays, temporal=not args.no_temporal))
            row["gain_new_unhinted"] = score(truth, bare, points, None, {0}, new)["gain_new"]
        if args.tracker_check:
            check = tracker_check(truth, grays, points)
            row.update({"tracked_painted": check["painted"], "tracked_wrong": check["wrong"]})
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:.0%}" if pct else f"{v:+.2f}"


def print_table(rows: list[dict]) -> None:
    checked = any("tracked_painted" in r for r in rows)
    print("| clip | input | gain hint | gain other | other/hint | new content "
          "| new, no hints | back | "
          "persist random | persist plain | persist all | persist back |"
          + (" tracked point-frames | on a wrong color |" if checked else ""))
    print("|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if checked else ""))
    for r in rows:
        ratio = r["gain_other"] / r["gain_hint"] if r["gain_hint"] else None
        print(f"| {r['clip']} | {r['input']} | {fmt(r['gain_hint'])} | {fmt(r['gain_other'])} "
              f"| {fmt(ratio, True)} | {fmt(r['gain_new'])} "
              f"| {fmt(r.get('gain_new_unhinted'))} | {fmt(r.get('gain_back'))} "
              f"| {fmt(r['persist_random'], True)} | {fmt(r['persist_plain'], True)} "
              f"| {fmt(r['persist_all'], True)} | {fmt(r.get('persist_back'), True)} |"
              + (f" {r['tracked_painted']} | {fmt(r['tracked_wrong'], True)} |"
                 if "tracked_painted" in r else ""))


def summary(rows: list[dict]) -> dict:
    out: dict = {}
    for version in ("clean", "film"):
        single = [r for r in rows if r["input"] == version and not r["clip"].startswith("pan")]
        if single:
            hint = float(np.mean([r["gain_hint"] for r in single]))
            other = float(np.mean([r["gain_other"] for r in single]))
            vis = sum(r["visible_random"] + r["visible_plain"] for r in single)
            held = sum((r["persist_random"] or 0) * r["visible_random"]
                       + (r["persist_plain"] or 0) * r["visible_plain"] for r in single)
            out[version] = {"gain_hint": hint, "gain_other": other,
                            "other_over_hint": other / hint if hint else None,
                            "persistence": held / vis if vis else None}
        still = [r["gain_new"] for r in rows if r["input"] == version
                 and r["clip"].startswith("pan-still") and r["gain_new"] is not None]
        if still:
            out[f"{version}_pan_still_new_content"] = float(np.mean(still))
    if "clean" in out and "film" in out and out["clean"]["gain_other"]:
        out["film_other_over_clean_other"] = (out["film"]["gain_other"]
                                              / out["clean"]["gain_other"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="*", type=Path)
    parser.add_argument("--pan", nargs=2, type=Path, metavar=("CLIP_A", "CLIP_B"))
    parser.add_argument("--pan-back", nargs="+", type=Path, default=[], metavar="CLIP",
                        help="clips to pan away from the hinted part and back over")
    parser.add_argument("--pan-still", nargs="+", type=Path, default=[], metavar="IMAGE",
                        help="photos to pan right across, at rest")
    parser.add_argument("--save-frames", type=Path, default=None,
                        help="keep the first and last frames of each --pan-still case here")
    parser.add_argument("--tracker-check", action="store_true",
                        help="also track the hints alone and count painted points on the "
                        "wrong color")
    parser.add_argument("--max-frames", type=int, default=40)
    parser.add_argument("--plain", type=int, default=5, help="hints on plain places")
    parser.add_argument("--strength", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default="default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--no-temporal", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import vidcolor

    colorizer = vidcolor.Colorizer(args.weights, args.device, batch_size=args.batch_size)
    rows: list[dict] = []
    for path in args.clips:
        truth, _ = read_frames(path, args.max_frames)
        rows += run(colorizer, path.stem, truth, args)
    if args.pan:
        a, _ = read_frames(args.pan[0], args.max_frames)
        b, _ = read_frames(args.pan[1], args.max_frames)
        frames, new = pan_clip(a, b, min(len(a), len(b)))
        rows += run(colorizer, "pan", frames, args, new, tracks_needed=True)
    for path in args.pan_back:
        truth, _ = read_frames(path, args.max_frames)
        rows += run(colorizer, f"pan-back {path.stem}", truth, args, pan_back=True)
    for path in args.pan_still:
        rows += run(colorizer, f"pan-still {path.stem}", [], args, still=read_still(path))
    print_table(rows)
    summ = summary(rows)
    print(json.dumps(summ, indent=1))
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                        "rows": rows, "summary": summ}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
