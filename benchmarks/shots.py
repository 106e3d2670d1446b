"""Hard-cut detection accuracy: vidcolor's CutDetector against PySceneDetect's detectors.

Decodes the Y plane of each clip with PyAV, scales it to the working resolution (shorter
side 256, as the pipeline feeds the detector) and feeds every detector the same frames.
A detected cut matches a known one within ``--tolerance`` frames. PySceneDetect is optional
(``pip install scenedetect``); without it only vidcolor's detector is measured.

Usage (data paths are arguments, never part of the repo)::

    python benchmarks/shots.py ../shared/data/video \\
        [--save-frames out/]   # PNGs around every detected cut, to check by eye

Known cuts are those of ../shared/data/README.md; the single-shot DAVIS clips must give none.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidcolor.temporal.shots import CutDetector  # noqa: E402

KNOWN = {
    "bikes_5cuts.mp4": [30, 76, 137, 187, 242],
    "davis_3shots.mp4": [50, 125],
    "bw/a-bomb_blast_effects_1950s.mp4": [44, 134, 299],
}
SINGLE_SHOT_DIR = "davis"


def read_luma(path: Path, short_side: int = 256) -> tuple[list[np.ndarray], float]:
    """Y planes scaled so the shorter side is ``short_side`` (multiples of 8), and the fps."""
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        for frame in container.decode(stream):
            y = frame.to_ndarray(format="gray")
            h, w = y.shape
            s = short_side / min(h, w)
            size = (max(8, round(w * s / 8) * 8), max(8, round(h * s / 8) * 8))
            frames.append(cv2.resize(y, size, interpolation=cv2.INTER_AREA))
    return frames, fps


def ours(frames: list[np.ndarray], fps: float) -> list[int]:
    det = CutDetector()
    for f in frames:
        det.update(f)
    return det.cuts


def scenedetect_runner(name: str):
    """A function running one PySceneDetect detector on frames, or None if not installed."""
    try:
        import scenedetect
        from scenedetect import FrameTimecode
    except ImportError:
        return None
    makers = {
        "psd-content": lambda: scenedetect.ContentDetector(luma_only=True),
        "psd-adaptive": lambda: scenedetect.AdaptiveDetector(luma_only=True),
        "psd-histogram": lambda: scenedetect.HistogramDetector(),
        "psd-hash": lambda: scenedetect.HashDetector(),
    }

    def run(frames: list[np.ndarray], fps: float) -> list[int]:
        det = makers[name]()
        cuts: list[int] = []
        tc = None
        for i, f in enumerate(frames):
            tc = FrameTimecode(i, fps=fps)
            bgr = cv2.cvtColor(f, cv2.COLOR_GRAY2BGR)
            cuts += [c.frame_num for c in det.process_frame(tc, bgr)]
        if tc is not None:
            cuts += [c.frame_num for c in det.post_process(tc)]
        return sorted(set(c for c in cuts if c > 0))

    return run


def score(found: list[int], truth: list[int], tolerance: int) -> tuple[int, int, int]:
    """(hits, misses, false cuts), each truth matched at most once."""
    left = list(found)
    hits = 0
    for t in truth:
        near = [f for f in left if abs(f - t) <= tolerance]
        if near:
            left.remove(min(near, key=lambda f: abs(f - t)))
            hits += 1
    return hits, len(truth) - hits, len(left)


def save_frames(frames: list[np.ndarray], cuts: list[int], out: Path, stem: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for c in cuts:
        strip = [frames[i] for i in range(max(0, c - 2), min(len(frames), c + 2))]
        cv2.imwrite(str(out / f"{stem}_cut{c:05d}.png"), np.concatenate(strip, axis=1))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("video_dir", type=Path, help="../shared/data/video")
    ap.add_argument("--tolerance", type=int, default=1, help="frames a cut may be off by")
    ap.add_argument("--save-frames", type=Path, default=None)
    ap.add_argument("--only-ours", action="store_true")
    args = ap.parse_args()

    clips = dict(KNOWN)
    for p in sorted((args.video_dir / SINGLE_SHOT_DIR).glob("*.mp4")):
        clips[f"{SINGLE_SHOT_DIR}/{p.name}"] = []
    methods = {"vidcolor": ours}
    if not args.only_ours:
        for name in ("psd-content", "psd-adaptive", "psd-histogram", "psd-hash"):
            run = scenedetect_runner(name)
            if run is not None:
                methods[name] = run

    totals = {m: [0, 0, 0, 0.0, 0] for m in methods}
    print(f"| clip | frames | known cuts | {' | '.join(methods)} |")
    print(f"|---|---|---|{'---|' * len(methods)}")
    for rel, truth in clips.items():
        frames, fps = read_luma(args.video_dir / rel)
        cells = []
        for m, run in methods.items():
            t0 = time.perf_counter()
            found = run(frames, fps)
            dt = time.perf_counter() - t0
            hits, miss, false = score(found, truth, args.tolerance)
            tot = totals[m]
            tot[0] += hits
            tot[1] += miss
            tot[2] += false
            tot[3] += dt
            tot[4] += len(frames)
            mark = "ok" if miss == 0 and false == 0 else f"**{miss} missed, {false} false**"
            cells.append(f"{found} {mark}")
            if args.save_frames and m == "vidcolor":
                save_frames(frames, found, args.save_frames, Path(rel).stem)
        print(f"| {rel} | {len(frames)} | {truth} | {' | '.join(cells)} |")
    summary = []
    for tot in totals.values():
        summary.append(
            f"{tot[0]} found, {tot[1]} missed, {tot[2]} false; {tot[4] / tot[3]:.0f} fps"
        )
    n_truth = sum(len(t) for t in clips.values())
    print(f"| **total** | | {n_truth} | {' | '.join(summary)} |")


if __name__ == "__main__":
    main()
