"""``python -m vidcolor.demo``: make a short gray film, colorize it, print the output path.

Everything is generated here, with no data files: a small color "scene" (sky, hills,
a house and a red ball rolling across), rendered as three shots (wide, close-up, wide
again), converted to gray and written as an H.264 clip with a mono tone as its sound.
Hint files give a few colors on one frame of the first two shots only; the third shot has
no hint and borrows its colors from the first, which shows the same place. The clip is
then colorized with the shipped default weights.

``--strip PATH`` also writes a before/after strip (gray input above, colored output below,
and the true colors in a third row) as a PNG: the picture in the README is made this way::

    python -m vidcolor.demo --strip docs/strip.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

SIZE = (320, 240)  # width, height
FPS = 24
SHOTS = ((0, 30, "wide"), (30, 54, "close"), (54, 84, "wide"))  # [start, stop), layout
HINT_FRAMES = (10, 40)  # one hint frame in each of the first two shots; none in the third

# sRGB colors of the scene's parts.
SKY_TOP, SKY_BOTTOM = (70, 120, 200), (170, 205, 240)
HILL, GRASS = (60, 130, 60), (100, 170, 70)
WALL, ROOF, DOOR = (225, 200, 150), (150, 50, 40), (90, 60, 40)
BALL = (210, 30, 30)


def _texture(height: int, width: int, seed: int, amount: float) -> np.ndarray:
    """Fixed, smooth-ish noise in [-amount, amount] (gives flow and SIFT something to hold)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((height // 4 + 1, width // 4 + 1)).astype(np.float32)
    noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(noise, -2, 2)[..., None] * (amount / 2.0)


def render(index: int, layout: str, t: int) -> np.ndarray:
    """The true-color picture of one frame.

    Args:
        index: frame number (unused by the picture itself; kept for clarity in callers).
        layout: ``"wide"`` or ``"close"``.
        t: frames since the start of the shot (drives the motion).

    Returns:
        ``(240, 320, 3)`` uint8 sRGB.
    """
    width, height = SIZE
    zoom = 1.0 if layout == "wide" else 2.2
    pan = 0.6 * t  # a slow camera pan, pixels at scale 1
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    # Scene coordinates: zoomed about the house, panned.
    sx = (xx - width * 0.55) / zoom + width * 0.55 + pan
    sy = (yy - height * 0.55) / zoom + height * 0.55
    img = np.empty((height, width, 3), np.float32)
    k = np.clip(sy / (height * 0.6), 0, 1)[..., None]
    img[:] = np.array(SKY_TOP, np.float32) * (1 - k) + np.array(SKY_BOTTOM, np.float32) * k
    hill = sy > height * 0.55 + 18 * np.sin(sx / 37.0)
    img[hill] = HILL
    grass = sy > height * 0.72 + 6 * np.sin(sx / 23.0)
    img[grass] = GRASS
    wall = (sx > 150) & (sx < 230) & (sy > 110) & (sy < 175)
    img[wall] = WALL
    roof = (sy <= 110) & (sy > 70) & (np.abs(sx - 190) < (sy - 70) * 1.1)
    img[roof] = ROOF
    door = (sx > 180) & (sx < 200) & (sy > 140) & (sy < 175)
    img[door] = DOOR
    bx, by = 20 + 4.0 * t, height * 0.8 - 10 * abs(np.sin(t / 4.0))
    ball = (sx - pan - bx) ** 2 + (sy - by) ** 2 < 14.0**2
    img[ball] = BALL
    img += _texture(height, width, 7, 10.0)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def scene_frames() -> list[tuple[int, np.ndarray]]:
    """Every frame of the demo film as ``(index, rgb)``."""
    frames = []
    for start, stop, layout in SHOTS:
        for i in range(start, stop):
            frames.append((i, render(i, layout, i - start)))
    return frames


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def write_gray_clip(path: Path, frames: list[tuple[int, np.ndarray]]) -> Path:
    """Write the gray film (H.264, yuv420p, neutral chroma) with a mono AAC tone."""
    import av

    width, height = SIZE
    with av.open(str(path), "w") as out:
        out.metadata["title"] = "vidcolor demo"
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "12", "preset": "fast"}
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        for i, rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.repeat(_gray(rgb)[..., None], 3, axis=2),
                                               format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        samples = int(len(frames) / FPS * 48000)
        chunk = audio.codec_context.frame_size or 1024
        for start in range(0, samples, chunk):
            n = min(chunk, samples - start)
            tone = 0.2 * np.sin(2 * np.pi * 440 * (start + np.arange(n)) / 48000)
            aframe = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None, :], format="fltp",
                                                layout="mono")
            aframe.sample_rate, aframe.pts = 48000, start
            for packet in audio.encode(aframe):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return path


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def write_hints(directory: Path, frames: dict[int, np.ndarray]) -> Path:
    """Write point hints for the hint frames: a few clicks on the true colors."""
    directory.mkdir(parents=True, exist_ok=True)
    width, height = SIZE
    spots = [(0.1, 0.08), (0.5, 0.15), (0.05, 0.62), (0.3, 0.9), (0.8, 0.95)]
    for index in HINT_FRAMES:
        rgb = frames[index]
        points = []
        for x, y in spots:
            px, py = int(x * (width - 1)), int(y * (height - 1))
            color = tuple(int(c) for c in rgb[max(0, py - 2):py + 3, max(0, px - 2):px + 3]
                          .reshape(-1, 3).mean(axis=0))
            points.append({"x": x, "y": y, "color": _hex(color), "size": 0.04})
        # The house and the ball: the colors a colorist would click.
        hint_spots = {"roof": ROOF, "wall": WALL, "ball": BALL}
        mask_of = {
            "roof": np.all(np.abs(rgb.astype(int) - ROOF) < 40, axis=2),
            "wall": np.all(np.abs(rgb.astype(int) - WALL) < 30, axis=2),
            "ball": np.all(np.abs(rgb.astype(int) - BALL) < 40, axis=2),
        }
        for name, color in hint_spots.items():
            ys, xs = np.nonzero(mask_of[name])
            if len(xs):
                points.append({"x": round(float(np.median(xs)) / width, 4),
                               "y": round(float(np.median(ys)) / height, 4),
                               "color": _hex(color), "size": 0.03})
        hint = {"version": 1, "frame": index, "points": points}
        (directory / f"{index:06d}.json").write_text(json.dumps(hint, indent=1) + "\n")
    return directory


def decode_rgb(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Some frames of a video as RGB."""
    import av

    wanted, out = set(indices), {}
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24")
    return out


def make_strip(gray_clip: Path, color_clip: Path, truth: dict[int, np.ndarray],
               dst: Path, indices: list[int]) -> Path:
    """A PNG: gray input (top), vidcolor output (middle), true colors (bottom)."""
    gray = decode_rgb(gray_clip, indices)
    color = decode_rgb(color_clip, indices)
    rows = []
    for row in (gray, color, {i: truth[i] for i in indices}):
        tiles = [cv2.resize(row[i], (SIZE[0] // 2, SIZE[1] // 2), interpolation=cv2.INTER_AREA)
                 for i in indices]
        rows.append(np.concatenate(tiles, axis=1))
    strip = np.concatenate(rows, axis=0)
    dst.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(dst), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    return dst


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m vidcolor.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, default=Path("build/demo"),
                        help="where the clip, hints and output go (default build/demo)")
    parser.add_argument("--strip", type=Path, default=None, help="also write a before/after PNG")
    parser.add_argument("--weights", default="default", help="registry name or path")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    args = parser.parse_args(argv)

    from vidcolor import api
    from vidcolor.errors import VidcolorError
    from vidcolor.progress import make_progress

    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = scene_frames()
    truth = dict(frames)
    src = write_gray_clip(out_dir / "demo_gray.mp4", frames)
    hints = write_hints(out_dir / "hints", truth)
    dst = out_dir / "demo_color.mp4"
    try:
        colorizer = api.Colorizer(args.weights, args.device)
        report = colorizer.colorize_video(
            src, dst, hints=hints, overwrite=True,
            progress=make_progress("bar" if sys.stderr.isatty() else "none"))
    except VidcolorError as exc:
        print(f"vidcolor demo: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    colored = decode_rgb(dst, list(truth))
    scores = [psnr(colored[i], truth[i]) for i in sorted(colored)]
    gray_scores = [psnr(np.repeat(_gray(truth[i])[..., None], 3, axis=2), truth[i])
                   for i in sorted(truth)]
    print(f"{report.frames} frames, {report.shots} shots (cuts at {list(report.cuts)}), "
          f"{report.fps:.1f} fps; borrowed: {report.borrowed or 'none'}", file=sys.stderr)
    print(f"RGB PSNR vs the true colors: {np.mean(scores):.2f} dB "
          f"(the gray input scores {np.mean(gray_scores):.2f} dB)", file=sys.stderr)
    if args.strip is not None:
        path = make_strip(src, dst, truth, args.strip, [5, 40, 70])
        print(f"strip: {path}", file=sys.stderr)
    print(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
