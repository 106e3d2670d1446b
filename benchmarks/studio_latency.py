"""Studio latency: hint change -> new preview PNG, and the first page load.

Starts the real ``vidcolor studio`` (a subprocess on 127.0.0.1, stopped by its PID) on a
clip, then:

* **first page load**: headless Chromium (Debian's, driven by Playwright) opens the page;
  the time from ``goto`` to the first colored frame shown (``body[data-preview-frame]``),
  cold (just after the start: the analysis of shot 0 and the first network pass are in
  it) and warm (a second page). Without Playwright, the sum of the page's own requests.
* **hint change -> preview PNG**: ``N`` times, a ``PUT /api/hints/{f}`` with 1-3 random
  points, then ``GET /api/frames/{g}/preview`` until the PNG is received, timed together;
  ``g = f`` (the hint frame) and ``g`` another frame of the shot (the hints are tracked
  there). The first change in each shot also computes that shot's flows; it is reported
  on its own.
* **network alone**: after the server stopped, the same weights on one frame at the same
  working size, in this process: the part of the latency no caching can remove.

Usage::

    nice -n 10 .venv/bin/python benchmarks/studio_latency.py               # generated 480p
    nice -n 10 .venv/bin/python benchmarks/studio_latency.py --film 1      # film-like
    nice -n 10 .venv/bin/python benchmarks/studio_latency.py \\
        --clip ../shared/data/video/davis_3shots.mp4 --film 1
    nice -n 10 .venv/bin/python benchmarks/studio_latency.py \\
        --clip ../shared/data/video/bw/a-bomb_blast_effects_1950s.mp4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from degrade import degrade_frames, read_frames, to_gray, write_gray  # noqa: E402

SIZE_480P = (854, 480)


def make_480p_clip(path: Path, frames: int) -> Path:
    """The demo's scene (three shots) at 854x480, gray."""
    from vidcolor import demo

    scene = demo.scene_frames()[:frames]
    grays = [cv2.resize(to_gray(rgb), SIZE_480P, interpolation=cv2.INTER_CUBIC)
             for _, rgb in scene]
    write_gray(grays, path, demo.FPS)
    return path


def prepare_clip(args: argparse.Namespace, work: Path) -> Path:
    if args.clip is None:
        src = make_480p_clip(work / "scene_480p.mp4", args.frames)
        if not args.film:
            return src
        frames, fps = read_frames(src, args.frames)
    elif args.film:
        frames, fps = read_frames(args.clip, args.frames)
    else:
        return args.clip
    out = work / f"{Path(src if args.clip is None else args.clip).stem}_film{args.film:g}.mp4"
    write_gray(degrade_frames(frames, args.film, seed=0), out, fps)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_studio(clip: Path, work: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidcolor", "studio", str(clip), "--hints", str(work / "hints"),
         "-o", str(work / "out.mp4"), "--port", str(port), "--no-browser", "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=(work / "studio.log").open("w"), text=True, env=env)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=300)
    if not line or not line[0].startswith("vidcolor studio: "):
        stop(proc)
        raise SystemExit(f"the studio did not start: {(work / 'studio.log').read_text()}")
    return proc, line[0].split(": ", 1)[1].strip(), time.perf_counter() - t0


def stop(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def page_load_browser(url: str) -> tuple[float, float] | None:
    """Cold and warm time to the first colored frame shown, in a real browser."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        try:
            for _ in range(2):
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                t0 = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("body[data-preview-frame='0']", timeout=300_000)
                out.append(time.perf_counter() - t0)
                page.close()
        finally:
            browser.close()
    return out[0], out[1]


def page_load_requests(client: httpx.Client, token: str) -> float:
    """The sum of the page's own requests up to the first colored frame."""
    t0 = time.perf_counter()
    for path in ("/", "/static/studio.js", "/static/studio.css", "/api/film", "/api/hints",
                 "/api/frames/0/gray", "/api/frames/0/preview"):
        client.get(path, params={"token": token}).raise_for_status()
    return time.perf_counter() - t0


def random_hint(rng: np.random.Generator, frame: int) -> bytes:
    points = [{"x": round(float(rng.uniform(0.05, 0.95)), 4),
               "y": round(float(rng.uniform(0.05, 0.95)), 4),
               "color": f"#{int(rng.integers(0, 1 << 24)):06x}",
               "size": round(float(rng.uniform(0.01, 0.05)), 3)}
              for _ in range(int(rng.integers(1, 4)))]
    return json.dumps({"version": 1, "frame": frame, "points": points}).encode()


#: Server-Timing parts of every timed preview: {"chroma": [ms, ...], ...}.
PARTS: dict[str, list[float]] = {}


def change_and_preview(client: httpx.Client, token: str, frame: int, target: int,
                       rng: np.random.Generator, record: bool = True) -> float:
    t0 = time.perf_counter()
    client.put(f"/api/hints/{frame}", params={"token": token},
               content=random_hint(rng, frame)).raise_for_status()
    response = client.get(f"/api/frames/{target}/preview", params={"token": token})
    response.raise_for_status()
    elapsed = time.perf_counter() - t0
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    for part in response.headers.get("server-timing", "").split(",") if record else ():
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            PARTS.setdefault(name, []).append(float(dur))
    return elapsed


def network_alone(shape: tuple[int, int], repeats: int = 10) -> float:
    from vidcolor import api

    colorizer = api.Colorizer(device="cpu")
    h, w = shape
    light = np.full((1, h, w), 50.0, np.float32)
    ab, mask = np.zeros((1, h, w, 2), np.float32), np.zeros((1, h, w), np.float32)
    colorizer.model.predict(light, ab, mask, 1)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        colorizer.model.predict(light, ab, mask, 1)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, help="a clip (default: a generated 480p scene)")
    parser.add_argument("--film", type=float, default=0.0,
                        help="make it film-like first (benchmarks/degrade.py strength)")
    parser.add_argument("--frames", type=int, default=84, help="frames of the clip used")
    parser.add_argument("--changes", type=int, default=30, help="timed hint changes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="vidcolor-studio-bench-") as tmp:
        work = Path(tmp)
        clip = prepare_clip(args, work)
        proc, url, startup = start_studio(clip, work)
        token = url.split("token=", 1)[1]
        base = url.split("/?", 1)[0]
        try:
            loads = page_load_browser(url)
            with httpx.Client(base_url=base, timeout=300) as client:
                requests_load = page_load_requests(client, token)
                film = client.get("/api/film", params={"token": token}).json()
                shots = client.get("/api/shots", params={"token": token}).json()["shots"]
                long_shots = [s for s in shots if s["stop"] - s["start"] >= 6] or shots
                first_in_shot, on_frame, elsewhere = [], [], []
                per_shot = max(1, args.changes // len(long_shots))
                for shot in long_shots:  # a person edits one shot for a while
                    length = shot["stop"] - shot["start"]
                    f = shot["start"] + length // 3
                    g = min(shot["stop"] - 1, f + max(1, length // 3))
                    first_in_shot.append(change_and_preview(client, token, f, g, rng,
                                                            record=False))
                    for _ in range(per_shot):
                        on_frame.append(change_and_preview(client, token, f, f, rng))
                        elsewhere.append(change_and_preview(client, token, f, g, rng))
        finally:
            stop(proc)
        net = network_alone(tuple(film["working"]))
    load1 = os.getloadavg()[0]
    result = {
        "clip": (str(args.clip or "generated 480p scene")
                 + (f" film {args.film:g}" if args.film else "")),
        "size": f"{film['width']}x{film['height']}", "frames": film["frames"],
        "working": f"{film['working'][1]}x{film['working'][0]}", "shots": len(shots),
        "load_average": round(load1, 1), "startup_s": round(startup, 2),
        "page_load_cold_s": None if loads is None else round(loads[0], 2),
        "page_load_warm_s": None if loads is None else round(loads[1], 2),
        "page_requests_s": round(requests_load, 2),
        "change_on_frame_ms": [round(float(np.percentile(on_frame, q)) * 1000)
                               for q in (50, 95)],
        "change_other_frame_ms": [round(float(np.percentile(elsewhere, q)) * 1000)
                                  for q in (50, 95)],
        "first_change_in_shot_ms": round(float(np.median(first_in_shot)) * 1000),
        "network_alone_ms": round(net * 1000),
        "changes": len(on_frame) + len(elsewhere),
    }
    print(f"clip: {result['clip']}  ({result['size']}, {result['frames']} frames, "
          f"{result['shots']} shots, working {result['working']}); load average {load1:.1f}")
    print("| measure | value |")
    print("|---|---|")
    print(f"| studio start (probe, weights) to URL line | {startup:.2f} s |")
    if loads is not None:
        print(f"| first page load, cold: goto -> first colored frame (Chromium) | "
              f"{loads[0]:.2f} s |")
        print(f"| page load, warm | {loads[1]:.2f} s |")
    print(f"| page's requests to the first colored frame (sum) | {requests_load:.2f} s |")
    print(f"| hint change -> preview PNG, the hint frame, p50 / p95 | "
          f"{ms(np.percentile(on_frame, 50))} / {ms(np.percentile(on_frame, 95))} ms |")
    print(f"| hint change -> preview PNG, another frame of the shot, p50 / p95 | "
          f"{ms(np.percentile(elsewhere, 50))} / {ms(np.percentile(elsewhere, 95))} ms |")
    print(f"| first change in a shot (computes its flows), median | "
          f"{ms(np.median(first_in_shot))} ms |")
    print(f"| network alone, one frame at working size, median (after the server stopped) "
          f"| {ms(net)} ms |")
    if PARTS:
        parts = ", ".join(f"{name} {np.median(v):.0f}" for name, v in PARTS.items())
        print(f"| server side of a timed preview, medians (ms): chroma = hints + plan + "
              f"tracking + network | {parts} |")
        result["server_timing_median_ms"] = {k: round(float(np.median(v)), 1)
                                             for k, v in PARTS.items()}
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
