"""The studio's HTTP API and its security model, through Starlette's test client.

The app is the one ``vidcolor studio`` serves (``vidcolor.studio.server.build_app``); the
browser test (``tests/studio/``) drives it through a real server and Chromium.
"""

from __future__ import annotations

import importlib.util
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from vidcolor import api, cli
from vidcolor.errors import HintError
from vidcolor.hints.format import load_hints
from vidcolor.studio.server import Studio, build_app

PORT = 48123  # only a name in the Host header: the test client calls the app in-process
TOKEN = "test-token-123"


@pytest.fixture
def studio(make_clip, tmp_path):
    clip = make_clip("clip.mp4", frames=6)
    session = api.open_studio(clip, tmp_path / "hints", device="cpu", temporal=False)
    app = build_app(Studio(session, tmp_path / "out.mp4", TOKEN, PORT))
    with TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
        yield client, session
    session.close()


def get(client, path, **kw):
    return client.get(path, params={"token": TOKEN}, **kw)


PATHS = ["/", "/static/studio.js", "/api/film", "/api/frames/0/preview", "/api/hints",
         "/api/frames/0/palette?x=0.5&y=0.5", "/api/render/output", "/no/such/page"]


@pytest.mark.parametrize("path", PATHS)
def test_every_request_without_the_token_is_403(studio, path):
    client, _ = studio
    assert client.get(path).status_code == 403
    sep = "&" if "?" in path else "?"
    assert client.get(f"{path}{sep}token=wrong").status_code == 403
    assert client.put("/api/hints/0", content=b"{}").status_code == 403
    assert client.post("/api/undo").status_code == 403


@pytest.mark.parametrize("host", ["evil.example", "evil.example:48123", "127.0.0.2:48123",
                                  "localhost.evil.example", "127.0.0.1:1"])
def test_a_foreign_host_header_is_403_even_with_the_token(studio, host):
    client, _ = studio
    response = client.get("/api/film", params={"token": TOKEN}, headers={"host": host})
    assert response.status_code == 403


def test_token_by_query_header_or_the_pages_cookie(studio):
    client, _ = studio
    assert get(client, "/api/film").status_code == 200
    assert client.get("/api/film", headers={"X-Vidcolor-Token": TOKEN}).status_code == 200
    assert client.get("/api/film", headers={"host": f"localhost:{PORT}",
                                            "X-Vidcolor-Token": TOKEN}).status_code == 200
    page = get(client, "/")
    assert page.status_code == 200 and "<script" in page.text
    assert f"vidcolor_token_{PORT}" in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"]
    assert client.get("/static/studio.js").status_code == 200  # with the cookie only
    client.cookies.clear()
    assert client.get("/static/studio.js").status_code == 403


def test_put_hint_file_saves_it_as_six_digits(studio):
    client, session = studio
    body = b'{"version": 1, "points": [{"x": 0.25, "y": 0.5, "color": "#2050d0"}]}'
    response = client.put("/api/hints/3", params={"token": TOKEN}, content=body)
    assert response.status_code == 200 and response.json()["file"] == "000003.json"
    assert (session.hints_dir / "000003.json").read_bytes() == body
    assert load_hints(session.hints_dir).get(3).points[0].x == 0.25
    assert get(client, "/api/hints/3").content == body
    listed = get(client, "/api/hints").json()
    assert listed["frames"] == {"3": {"json": "000003.json", "png": None}}
    # Undo removes it, redo brings it back, byte for byte.
    assert client.post("/api/undo", params={"token": TOKEN}).json()["files"] == ["000003.json"]
    assert not (session.hints_dir / "000003.json").exists()
    client.post("/api/redo", params={"token": TOKEN})
    assert (session.hints_dir / "000003.json").read_bytes() == body


@pytest.mark.parametrize("body", [
    b'{"version": 1, "points": [{"x": 0.5, "y": -1, "color": "#ff0000"}]}',
    b'{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "nocolor"}]}',
    b'{"points": []}',
    b'{"version": 1, "frame": 2, "points": []}',
    b"[1, 2",
])
def test_invalid_put_is_400_with_the_cli_message_and_leaves_the_file(studio, tmp_path, body):
    client, session = studio
    good = b'{"version": 1, "points": []}'
    assert client.put("/api/hints/4", params={"token": TOKEN}, content=good).status_code == 200
    response = client.put("/api/hints/4", params={"token": TOKEN}, content=body)
    assert response.status_code == 400
    message = response.json()["error"]
    # The CLI reads a folder holding the same file and fails with the same line.
    folder = tmp_path / "cli"
    folder.mkdir()
    (folder / "000004.json").write_bytes(body)
    with pytest.raises(HintError) as caught:
        load_hints(folder)
    assert message == caught.value.one_line().replace(str(folder), str(session.hints_dir))
    assert "\n" not in message
    assert (session.hints_dir / "000004.json").read_bytes() == good


@pytest.mark.parametrize("path", [
    "/static/..%2Fserver.py", "/static/%2e%2e/server.py", "/static/../server.py",
    "/static/index.html/../../server.py", "/static/__init__.py",
    "/api/hints/..%2F..%2Fetc%2Fpasswd", "/api/frames/-1/preview", "/api/frames/abc/gray",
    "/api/frames/0x1/gray", "/api/scribbles/..%2F000001",
    "/api/frames/1/../../../../etc/passwd",
])
def test_path_traversal_is_refused(studio, path):
    client, _ = studio
    sep = "&" if "?" in path else "?"
    response = client.get(f"{path}{sep}token={TOKEN}")
    assert response.status_code in (400, 404)
    assert b"import" not in response.content and b"root:" not in response.content


def test_names_and_frames_outside_the_film_are_refused(studio):
    client, _ = studio
    for name in ("..%2F000001.json", "reference_0123.png", "%2Fetc%2Fpasswd"):
        assert get(client, f"/api/references/{name}").status_code in (400, 404)
    response = get(client, "/api/frames/6/preview")
    assert response.status_code == 400 and "past the end" in response.json()["error"]
    response = client.put("/api/hints/99", params={"token": TOKEN},
                          content=b'{"version": 1, "points": []}')
    assert response.status_code == 400 and "past the end" in response.json()["error"]


def test_reference_upload_is_stored_under_a_generated_name(studio):
    client, session = studio
    ok, data = cv2.imencode(".png", np.full((8, 8, 3), 200, np.uint8))
    response = client.post("/api/references", params={"token": TOKEN}, content=data.tobytes(),
                           headers={"content-type": "image/png"})
    name = response.json()["name"]
    assert [p.name for p in session.hints_dir.iterdir()] == [name]
    assert get(client, f"/api/references/{name}").content == data.tobytes()
    bad = client.post("/api/references", params={"token": TOKEN}, content=b"not an image",
                      headers={"content-type": "image/png"})
    assert bad.status_code == 400


def test_preview_png_is_the_full_frame_in_displayed_orientation(make_clip, tmp_path):
    clip = make_clip("phone.mp4", frames=3, size=(64, 32), rotation=90)
    session = api.open_studio(clip, tmp_path / "hints", device="cpu")
    try:
        app = build_app(Studio(session, tmp_path / "out.mp4", TOKEN, PORT))
        with TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
            film = get(client, "/api/film").json()
            assert (film["width"], film["height"], film["rotation"]) == (32, 64, 90)
            for kind in ("preview", "gray"):
                response = get(client, f"/api/frames/2/{kind}")
                assert response.headers["content-type"] == "image/png"
                image = cv2.imdecode(np.frombuffer(response.content, np.uint8),
                                     cv2.IMREAD_UNCHANGED)
                assert image.shape[:2] == (64, 32), kind
            colors = client.get("/api/frames/2/palette",
                                params={"token": TOKEN, "x": 0.5, "y": 0.5, "k": 3}).json()
            assert len(colors["colors"]) == 3 and colors["colors"][0]["hex"].startswith("#")
    finally:
        session.close()


def test_shot_playback_streams_every_frame_of_the_shot(studio):
    client, _ = studio
    with client.stream("GET", "/api/frames/2/play", params={"token": TOKEN}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    frames = [json.loads(line[6:])["frame"] for line in text.splitlines()
              if line.startswith("data: {\"frame\"")]
    assert frames == list(range(6))
    assert "event: done" in text


def test_studio_without_its_extra_gives_one_line_with_the_install_command(monkeypatch,
                                                                          make_clip):
    clip = make_clip("clip.mp4", frames=2)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "starlette" else real(name, *a))
    result = CliRunner().invoke(cli.cli, ["studio", str(clip), "--no-browser"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "pip install 'vidcolor[studio]'" in lines[0]
    assert lines[0].startswith("vidcolor: error: ") and "starlette" in lines[0]


def wait_render(client, timeout: float = 300.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = get(client, "/api/render").json()
        if state["state"] not in ("running", "idle"):
            return state
        time.sleep(0.1)
    raise AssertionError("the render did not finish")


def test_render_cancel_then_render_again_serves_the_output(make_clip, tmp_path):
    clip = make_clip("clip.mp4", frames=24, cuts=(12,))
    session = api.open_studio(clip, tmp_path / "hints", device="cpu")
    out = tmp_path / "film_color.mp4"
    try:
        app = build_app(Studio(session, out, TOKEN, PORT))
        with TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
            assert get(client, "/api/render").json() == {"state": "idle"}
            assert get(client, "/api/render/output").status_code == 404
            # Cancel at once: the run stops, no output is left, its work folder is kept.
            started = client.post("/api/render", params={"token": TOKEN})
            assert started.status_code == 200 and started.json()["state"] == "running"
            client.post("/api/render/cancel", params={"token": TOKEN})
            state = wait_render(client)
            assert state["state"] == "cancelled", state
            assert not out.exists()
            assert (tmp_path / "film_color.mp4.vidcolor-work").is_dir()  # for the resume
            # Render again: the real run to the end, then the page can fetch the file.
            assert client.post("/api/render", params={"token": TOKEN}).status_code == 200
            assert client.post("/api/render", params={"token": TOKEN}).status_code in (200, 409)
            state = wait_render(client)
            assert state["state"] == "done" and state["frames"] == 24, state
            response = get(client, "/api/render/output")
            assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
            assert response.content == out.read_bytes()
            ranged = client.get("/api/render/output", params={"token": TOKEN},
                                headers={"range": "bytes=0-99"})
            assert ranged.status_code == 206 and ranged.content == out.read_bytes()[:100]
            assert not (tmp_path / "film_color.mp4.vidcolor-work").exists()
    finally:
        session.close()


def test_delete_hint_and_scribble_files_and_undo_them(studio):
    client, session = studio
    body = b'{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "teal"}]}'
    client.put("/api/hints/2", params={"token": TOKEN}, content=body)
    layer = np.zeros((6, 8, 4), np.uint8)
    layer[1:3, 1:3] = (0, 128, 255, 255)
    ok, data = cv2.imencode(".png", layer)
    assert client.put("/api/scribbles/2", params={"token": TOKEN},
                      content=data.tobytes()).status_code == 200
    assert get(client, "/api/scribbles/2").content == data.tobytes()
    assert sorted(p.name for p in session.hints_dir.iterdir()) == ["000002.json", "000002.png"]
    assert client.delete("/api/scribbles/2", params={"token": TOKEN}).status_code == 200
    assert client.delete("/api/hints/2", params={"token": TOKEN}).status_code == 200
    assert list(session.hints_dir.iterdir()) == []
    assert get(client, "/api/hints/2").status_code == 404
    client.post("/api/undo", params={"token": TOKEN})
    client.post("/api/undo", params={"token": TOKEN})
    assert (session.hints_dir / "000002.json").read_bytes() == body
    assert (session.hints_dir / "000002.png").read_bytes() == data.tobytes()
    bad = client.put("/api/scribbles/2", params={"token": TOKEN}, content=b"\x89PNG\r\n\x1a\nxx")
    assert bad.status_code == 400
    assert (session.hints_dir / "000002.png").read_bytes() == data.tobytes()
