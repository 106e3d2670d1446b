"""The studio in a real browser: click a hint, pick a suggested color, see it land, play, render.

``vidcolor studio`` runs as a subprocess on a generated clip (the demo's scene, two shots),
on 127.0.0.1 only, and is stopped by its PID at the end. Screenshots go to
``$STUDIO_SCREENSHOTS`` (default: the test's temporary folder); the README's pictures are
made with ``STUDIO_SCREENSHOTS=docs make test-studio``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from vidcolor import demo
from vidcolor.hints.format import color_to_ab

ROOT = Path(__file__).resolve().parents[2]
FIRST_LINE = re.compile(r"^vidcolor studio: http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+)$")
CLICK = (0.575, 0.41)  # on the roof of the house in the wide shot
MORE = (((0.2, 0.12), "#4a7fd0"), ((0.25, 0.85), "#4f9a3a"))  # sky and grass, by the picker
HINT_FRAME, OTHER_FRAME = 10, 22  # both in shot 0 (frames 0-29)
BRUSH_COLOR = "#d8b020"
BRUSH_STROKE = ((0.45, 0.52), (0.52, 0.52))  # across the wall of the house on frame 22
RESTART_POINT = (0.85, 0.2)  # the sky on frame 22, added while the shot preview plays
RESTART_COLOR = "#c03cc0"  # magenta: far from every color of the scene


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def hex_ab(hex_color: str) -> np.ndarray:
    rgb = tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return np.array(color_to_ab(rgb))


def rgb_ab(rgb) -> np.ndarray:
    pixel = np.array([[rgb]], np.uint8)
    lab = cv2.cvtColor(pixel.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return lab[0, 0, 1:].astype(np.float64)


@pytest.fixture
def studio(tmp_path):
    clip = demo.write_gray_clip(tmp_path / "film.mp4", demo.scene_frames()[:40])
    hints = tmp_path / "hints"
    out = tmp_path / "film_color.mp4"
    port = free_port()
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT)}
    log = tmp_path / "studio.log"  # a file, not a pipe: a full pipe would stall the server
    stderr = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidcolor", "studio", str(clip), "--hints", str(hints),
         "-o", str(out), "--port", str(port), "--no-browser", "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=ROOT)
    try:
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout=120)
        if not (first and first[0]):
            pytest.fail(f"no URL line on stdout; stderr: {log.read_text()}")
        line = first[0].rstrip("\n")
        match = FIRST_LINE.match(line)
        assert match, line
        assert int(match.group(1)) == port
        yield {"url": line.split(": ", 1)[1], "clip": clip, "hints": hints, "out": out,
               "port": port, "pid": proc.pid}
    finally:
        os.kill(proc.pid, signal.SIGTERM)  # stopped by its PID, also on failure
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        stderr.close()
        assert proc.returncode is not None


def pixel_at(page, fx: float, fy: float) -> list[int]:
    """The RGB of the colored preview image, as the page shows it, at a fraction."""
    return page.evaluate("""([fx, fy]) => {
        const img = document.getElementById('color');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1).data;
        return [d[0], d[1], d[2]];
    }""", [fx, fy])


def playback_ab(src: str, fx: float, fy: float) -> np.ndarray:
    """The chroma of a shot-preview frame (its ``data:image/jpeg`` URL) around a fraction."""
    data = base64.b64decode(src.split(",", 1)[1])
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None, src[:64]
    h, w = bgr.shape[:2]
    x, y = int(fx * w), int(fy * h)
    rgb = bgr[y - 1:y + 2, x - 1:x + 2, ::-1].reshape(-1, 3).mean(axis=0)
    return rgb_ab(np.round(rgb).astype(np.uint8))


# Records every frame the shot preview shows: the start it comes from and its picture.
PLAY_LOG = """() => {
    window.playLog = [];
    new MutationObserver(() => {
        const d = document.body.dataset;
        window.playLog.push({run: Number(d.playbackRun), frame: Number(d.playbackFrame),
                             src: document.getElementById('playback').src});
    }).observe(document.body, {attributes: true, attributeFilter: ['data-playback-frame']});
}"""


def goto_frame(page, index: int) -> None:
    page.eval_on_selector(
        "#scrub", "(el, i) => { el.value = i; el.dispatchEvent(new Event('change')); }", index)
    page.wait_for_selector(f"body[data-preview-frame='{index}']", timeout=60_000)


def wait_version_above(page, version: int) -> int:
    page.wait_for_function(f"Number(document.body.dataset.previewVersion) > {version}",
                           timeout=60_000)
    return int(page.evaluate("document.body.dataset.previewVersion"))


def wait_current_preview(page) -> None:
    """Wait until the preview shown was made after the page's last change."""
    page.wait_for_function("Number(document.body.dataset.previewVersion) === state.version"
                           " && document.body.dataset.previewFrame === String(state.frame)",
                           timeout=60_000)


def test_paint_a_hint_see_it_land_and_render(studio, chromium_path, tmp_path):
    shots_dir = Path(os.environ.get("STUDIO_SCREENSHOTS", tmp_path))
    shots_dir.mkdir(parents=True, exist_ok=True)
    hint_file = studio["hints"] / f"{HINT_FRAME:06d}.json"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or chromium_path,
                                    headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(studio["url"])
            page.wait_for_selector("body[data-preview-frame='0']", timeout=60_000)
            page.wait_for_selector("#shots li[data-shot='1']", timeout=60_000)
            assert page.locator("#shots li").count() == 2

            goto_frame(page, HINT_FRAME)
            before = rgb_ab(pixel_at(page, *CLICK))
            version = int(page.evaluate("document.body.dataset.previewVersion"))

            # Click a point on the frame: a point hint is added there.
            box = page.locator("#gray").bounding_box()
            page.mouse.click(box["x"] + CLICK[0] * box["width"],
                             box["y"] + CLICK[1] * box["height"])
            page.wait_for_selector("#palette .swatch", timeout=60_000)
            version = wait_version_above(page, version)

            # Pick the most saturated suggested color at the point.
            swatches = page.eval_on_selector_all("#palette .swatch",
                                                 "els => els.map(e => e.dataset.hex)")
            assert len(swatches) >= 3
            chosen = max(swatches, key=lambda h: float(np.linalg.norm(hex_ab(h))))
            page.click(f"#palette .swatch[data-hex='{chosen}']")
            version = wait_version_above(page, version)
            wait_current_preview(page)

            # The hint file on disk: the standard format, at the click, with that color.
            data = json.loads(hint_file.read_text())
            assert data["version"] == 1 and data["frame"] == HINT_FRAME
            assert len(data["points"]) == 1
            point = data["points"][0]
            assert abs(point["x"] - CLICK[0]) < 0.01 and abs(point["y"] - CLICK[1]) < 0.01
            assert point["color"] == chosen

            # The preview pixel at the click turned that color (chroma; lightness is the film's).
            want = hex_ab(chosen)
            after = rgb_ab(pixel_at(page, *CLICK))
            assert np.linalg.norm(after - want) < 12.0, (after, want, before)
            assert np.linalg.norm(after - want) < np.linalg.norm(before - want)

            # Two more points whose colors come from the color picker (click, then choose).
            for (fx, fy), color in MORE:
                page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
                version = wait_version_above(page, version)
                page.fill("#picker", color)
                page.dispatch_event("#picker", "change")
                version = wait_version_above(page, version)
            wait_current_preview(page)
            data = json.loads(hint_file.read_text())
            assert [p["color"] for p in data["points"]] == [chosen] + [c for _, c in MORE]
            for (fx, fy), color in MORE:
                got = rgb_ab(pixel_at(page, fx, fy))
                assert np.linalg.norm(got - hex_ab(color)) < 15.0, (color, got)
            page.screenshot(path=str(shots_dir / "studio.png"))

            # Another frame of the same shot: the hint is carried there and colors it too.
            goto_frame(page, OTHER_FRAME)
            page.wait_for_selector("#marks ellipse.carried", timeout=60_000)
            carried = page.evaluate(
                f"fetch('/api/frames/{OTHER_FRAME}/carried?token=' + "
                "new URLSearchParams(location.search).get('token')).then(r => r.json())")
            assert len(carried["points"]) == 3
            roof = min(carried["points"],
                       key=lambda q: abs(q["x"] - CLICK[0]) + abs(q["y"] - CLICK[1]))
            cx, cy = roof["x"], roof["y"]
            assert abs(cx - CLICK[0]) < 0.1 and abs(cy - CLICK[1]) < 0.1
            there = rgb_ab(pixel_at(page, cx, cy))
            assert np.linalg.norm(there - want) < 15.0, (there, want)

            # Split view: gray on the left, color on the right.
            page.click("#view-split")
            page.screenshot(path=str(shots_dir / "studio_split.png"))
            page.click("#view-color")

            # Undo (Ctrl+Z) restores the file as it was before the color pick; redo again.
            picked = hint_file.read_bytes()
            page.keyboard.press("Control+z")
            page.wait_for_function("document.getElementById('status').textContent.startsWith('undo')")
            assert json.loads(hint_file.read_text())["points"][2]["color"] != MORE[1][1]
            page.keyboard.press("Control+Shift+z")
            page.wait_for_function("document.getElementById('status').textContent.startsWith('redo')")
            assert hint_file.read_bytes() == picked

            # Brush: a scribble on the wall of the house, in the picker's color.
            page.check("input[name='tool'][value='brush']")
            page.fill("#picker", BRUSH_COLOR)
            page.dispatch_event("#picker", "change")
            box = page.locator("#gray").bounding_box()
            (x0, y0), (x1, y1) = BRUSH_STROKE
            page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
            page.mouse.down()
            for k in range(1, 11):
                t = k / 10
                page.mouse.move(box["x"] + (x0 + t * (x1 - x0)) * box["width"],
                                box["y"] + (y0 + t * (y1 - y0)) * box["height"])
            page.mouse.up()
            page.wait_for_function(
                "document.getElementById('status').textContent.includes('.png')", timeout=60_000)
            assert page.text_content("#status") == f"saved {OTHER_FRAME:06d}.png"
            wait_current_preview(page)
            layer_file = studio["hints"] / f"{OTHER_FRAME:06d}.png"
            layer = cv2.imread(str(layer_file), cv2.IMREAD_UNCHANGED)
            assert layer is not None and layer.shape == (240, 320, 4)
            painted = layer[..., 3] >= 128
            assert 50 < painted.sum() < 0.2 * painted.size
            middle = ((x0 + x1) / 2, (y0 + y1) / 2)
            assert painted[int(middle[1] * 240), int(middle[0] * 320)]
            bgr = layer[int(middle[1] * 240), int(middle[0] * 320), :3]
            assert "#{:02x}{:02x}{:02x}".format(*bgr[::-1]) == BRUSH_COLOR
            got = rgb_ab(pixel_at(page, *middle))
            assert np.linalg.norm(got - hex_ab(BRUSH_COLOR)) < 15.0, got
            page.check("input[name='tool'][value='point']")

            # Shot preview: the shot plays as the render colors it.
            page.evaluate(PLAY_LOG)
            page.click("#play")
            page.wait_for_function("Number(document.body.dataset.playbackFrame) >= 5",
                                   timeout=120_000)
            assert page.evaluate("document.body.dataset.playStarts") == "1"

            # Changing a hint while it plays restarts it, from the shot's start, with the
            # new hint: a magenta point in the sky of frame 22.
            page.fill("#picker", RESTART_COLOR)
            page.dispatch_event("#picker", "change")  # no point selected: sets the color only
            box = page.locator("#gray").bounding_box()
            page.mouse.click(box["x"] + RESTART_POINT[0] * box["width"],
                             box["y"] + RESTART_POINT[1] * box["height"])
            page.wait_for_function("document.body.dataset.playStarts === '2'", timeout=60_000)
            page.wait_for_function(
                f"window.playLog.some(e => e.run === 2 && e.frame === {OTHER_FRAME})",
                timeout=300_000)
            page.click("#stop")
            log = page.evaluate("window.playLog")
            runs = [e["run"] for e in log]
            assert set(runs) == {1, 2} and runs == sorted(runs), runs  # nothing stale after it
            first = [e["frame"] for e in log if e["run"] == 1]
            second = [e["frame"] for e in log if e["run"] == 2]
            assert first[:6] == list(range(6)), first
            assert second == list(range(len(second))), second  # from frame 0 again, in order
            restart_file = studio["hints"] / f"{OTHER_FRAME:06d}.json"
            points = json.loads(restart_file.read_text())["points"]
            assert len(points) == 1 and points[0]["color"] == RESTART_COLOR
            assert abs(points[0]["x"] - RESTART_POINT[0]) < 0.01
            assert abs(points[0]["y"] - RESTART_POINT[1]) < 0.01
            want = hex_ab(RESTART_COLOR)
            old_ab = playback_ab([e for e in log if e["run"] == 1][-1]["src"], *RESTART_POINT)
            new_ab = playback_ab(next(e for e in log if e["run"] == 2
                                      and e["frame"] == OTHER_FRAME)["src"], *RESTART_POINT)
            assert np.linalg.norm(old_ab - want) > 40.0, old_ab  # the sky, before the hint
            assert np.linalg.norm(new_ab - want) < 15.0, (new_ab, want)

            # A reference image for the shot, uploaded from the page: stored in the hints
            # folder, named by the frame's hint file, shown, then removed again.
            reference = np.zeros((48, 64, 3), np.uint8)
            reference[..., 0] = np.linspace(0, 255, 64, dtype=np.uint8)[None, :]
            reference[..., 1] = np.linspace(255, 0, 48, dtype=np.uint8)[:, None]
            reference[16:32, 20:44] = (30, 160, 220)
            upload = tmp_path / "my reference.png"
            assert cv2.imwrite(str(upload), reference)
            page.set_input_files("#reference-file", str(upload))
            page.wait_for_function(
                "(() => { const r = document.getElementById('reference');"
                " return !r.hidden && r.complete && r.naturalWidth === 64"
                " && r.naturalHeight === 48; })()", timeout=60_000)
            assert page.locator("#reference").is_visible()
            assert page.locator("#clear-reference").is_visible()
            assert page.text_content("#status") == f"saved {restart_file.name}"
            data = json.loads(restart_file.read_text())
            assert data["points"] == points
            name = data["reference"]
            assert re.fullmatch(r"reference_[0-9a-f]{16}\.png", name), name
            stored = studio["hints"] / name
            assert stored.is_file()
            assert np.array_equal(cv2.imread(str(stored), cv2.IMREAD_UNCHANGED), reference)
            shown = page.evaluate("document.getElementById('reference').src")
            assert f"/api/references/{name}?" in shown
            wait_current_preview(page)
            page.click("#clear-reference")
            page.wait_for_selector("#reference", state="hidden", timeout=60_000)
            data = json.loads(restart_file.read_text())
            assert "reference" not in data and data["points"] == points
            assert page.evaluate("document.body.dataset.playStarts") == "2"  # stopped: no restart
            wait_current_preview(page)

            # Render: the real run, with progress, to a file the page plays.
            page.click("#render")
            page.wait_for_selector("body[data-render-state='done']", timeout=600_000)
            assert frame_count(studio["out"]) == frame_count(studio["clip"]) == 40
            page.wait_for_function(
                "(() => { const v = document.getElementById('result');"
                " return !v.hidden && v.readyState >= 1 && v.duration > 1.5; })()",
                timeout=60_000)
            page.screenshot(path=str(tmp_path / "studio_render.png"))  # not for the README
            assert not errors, errors
        finally:
            browser.close()
