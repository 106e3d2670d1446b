"""The studio's HTTP server (Starlette on uvicorn): a thin door over ``api.open_studio``.

Every answer comes from the :class:`vidcolor.run.PreviewSession` the API opens; this module
only checks requests, turns pictures into PNG/JPEG bytes and runs the render in a thread.
The API is documented in ``docs/STUDIO.md``.

Security (see ``docs/STUDIO.md``): the server binds 127.0.0.1 only; every request must
carry the start's random token (``?token=``, the ``X-Vidcolor-Token`` header or the cookie
the page gets on its first load) and a ``Host`` header naming 127.0.0.1 or localhost,
else 403. Only the opened film's frames, its hints folder and the page's own files are
served; path parameters are frame indices (integers checked against the film) or names
checked against fixed patterns, never file paths.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from vidcolor import api
from vidcolor.errors import InputError, VidcolorError
from vidcolor.studio.render import RenderJob

STATIC = Path(__file__).parent / "static"
#: The page's own files, by the name in its URL (nothing else under static/ is served).
STATIC_FILES = {
    "studio.js": "text/javascript; charset=utf-8",
    "studio.css": "text/css; charset=utf-8",
}
#: The cookie the page gets on its first load (one per port: cookies ignore the port).
COOKIE = "vidcolor_token_{port}"
HEADER = "x-vidcolor-token"
#: PNG compression of previews: level 1, Huffman only (measured 25 ms at 854x480 against
#: 38 ms for the default strategy, and smaller).
PNG_LEVEL = 1
#: Shorter side of shot thumbnails, in pixels.
THUMB_SIZE = 72


def png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W)`` gray or ``(H, W, 3)`` RGB uint8 image."""
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL,
                                          cv2.IMWRITE_PNG_STRATEGY,
                                          cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of an ``(H, W)`` gray or ``(H, W, 3)`` RGB uint8 image."""
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def error_response(exc: VidcolorError) -> JSONResponse:
    """400 for bad input (the CLI's one-line message), 500 for other vidcolor errors."""
    status = 400 if isinstance(exc, InputError) else 500
    return JSONResponse({"error": exc.one_line()}, status_code=status)


class Studio:
    """The request handlers of one studio: one film, one hints folder, one token."""

    def __init__(self, session: api.PreviewSession, dst: Path, token: str, port: int):
        self.session = session
        self.token = token
        self.port = port
        self.render = RenderJob(session, dst)
        self.dst = dst
        self._playback: api.CancelToken | None = None
        self._playback_lock = threading.Lock()

    # ------------------------------------------------------------------ checks

    def allowed(self, request: Request) -> bool:
        """True for a request with the token and a loopback Host header."""
        host = request.headers.get("host", "")
        hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}", "127.0.0.1", "localhost"}
        if host.lower() not in hosts:
            return False
        offered = (request.query_params.get("token") or request.headers.get(HEADER)
                   or request.cookies.get(COOKIE.format(port=self.port)) or "")
        return secrets.compare_digest(offered.encode(), self.token.encode())

    def frame_index(self, request: Request) -> int:
        """The ``{index}`` path parameter, checked against the film's frames."""
        index = int(request.path_params["index"])
        self.session.check_frame(index)  # waits for the frame to be decoded
        return index

    # ------------------------------------------------------------------ page

    def index(self, request: Request) -> Response:
        """GET /: the page (sets the token cookie)."""
        response = FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")
        response.set_cookie(COOKIE.format(port=self.port), self.token, httponly=True,
                            samesite="strict")
        response.headers["Cache-Control"] = "no-store"
        return response

    def static(self, request: Request) -> Response:
        """GET /static/{name}: one of the page's own files."""
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ film

    def film(self, request: Request) -> Response:
        """GET /api/film: the film's size (displayed), frames, rotation, fps, folders."""
        s = self.session
        width, height = s.display_size
        info = s.info
        rate = float(info.average_rate) if info.average_rate else None
        return JSONResponse({
            "name": s.src.name, "width": width, "height": height,
            "frames": s.frame_count(), "analysed": s.analysed, "rotation": info.rotation,
            "fps": rate, "working": list(s.shape), "hints_dir": str(s.hints_dir),
            "output": str(self.dst), "can_undo": s.hints.can_undo,
            "can_redo": s.hints.can_redo,
        })

    def shots(self, request: Request) -> Response:
        """GET /api/shots: every shot (waits for the analysis)."""
        shots = self.session.shots()
        return JSONResponse({"frames": self.session.frame_count(),
                             "shots": [{"shot": x.index, "start": x.start, "stop": x.stop}
                                       for x in shots]})

    def shot_of(self, request: Request) -> Response:
        """GET /api/frames/{index}/shot: the shot holding a frame."""
        index = self.frame_index(request)
        shot = self.session.shot_at(index)
        return JSONResponse({"shot": shot.index, "start": shot.start, "stop": shot.stop})

    def gray(self, request: Request) -> Response:
        """GET /api/frames/{index}/gray: the frame as a gray PNG (displayed orientation)."""
        index = self.frame_index(request)
        return Response(png(self.session.gray_frame(index)), media_type="image/png")

    def preview(self, request: Request) -> Response:
        """GET /api/frames/{index}/preview: the frame colorized with the current hints (PNG)."""
        index = self.frame_index(request)
        t0 = time.perf_counter()
        self.session.chroma(index)  # hints, plan, tracking, network (kept for color_frame)
        t1 = time.perf_counter()
        rgb = self.session.color_frame(index)
        t2 = time.perf_counter()
        data = png(rgb)
        t3 = time.perf_counter()
        # Where the time went, for benchmarks and the browser's network panel.
        timing = (f"chroma;dur={(t1 - t0) * 1e3:.1f}, compose;dur={(t2 - t1) * 1e3:.1f}, "
                  f"png;dur={(t3 - t2) * 1e3:.1f}")
        return Response(data, media_type="image/png",
                        headers={"Cache-Control": "no-store", "Server-Timing": timing})

    def thumb(self, request: Request) -> Response:
        """GET /api/frames/{index}/thumb: a small gray JPEG of the frame."""
        index = self.frame_index(request)
        gray = self.session.gray_frame(index)
        scale = THUMB_SIZE / min(gray.shape)
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        return Response(jpeg(small), media_type="image/jpeg")

    def palette(self, request: Request) -> Response:
        """GET /api/frames/{index}/palette?x=&y=&k=: suggested colors at a point."""
        index = self.frame_index(request)
        try:
            x = float(request.query_params.get("x", ""))
            y = float(request.query_params.get("y", ""))
            k = int(request.query_params.get("k", "8"))
        except ValueError:
            raise InputError("expected numbers x and y in [0, 1] and an integer k",
                             field="query") from None
        if not 1 <= k <= 32:
            raise InputError(f"found {k}; expected 1..32", field="k")
        colors = self.session.suggest(index, x, y, k)
        return JSONResponse({"colors": [{"ab": list(c.ab), "hex": c.rgb_hex,
                                         "probability": c.probability} for c in colors]})

    def carried(self, request: Request) -> Response:
        """GET /api/frames/{index}/carried: the point hints a render paints on the frame."""
        index = self.frame_index(request)
        return JSONResponse({"frame": index, "points": self.session.carried_points(index)})

    # ------------------------------------------------------------------ hints

    def hints_list(self, request: Request) -> Response:
        """GET /api/hints: the folder's hint files by frame, and the undo state."""
        out = {}
        for index, names in self.session.hints.frames().items():
            out[str(index)] = {"json": names.get("json"), "png": names.get("png")}
        return JSONResponse({"frames": out, "can_undo": self.session.hints.can_undo,
                             "can_redo": self.session.hints.can_redo})

    def hints_get(self, request: Request) -> Response:
        """GET /api/hints/{index}: the frame's hint JSON file as stored."""
        index = request.path_params["index"]
        data = self.session.hints.read(index, "json")
        if data is None:
            return JSONResponse({"error": f"frame {index} has no hint file"}, status_code=404)
        return Response(data, media_type="application/json")

    async def hints_put(self, request: Request) -> Response:
        """PUT /api/hints/{index}: check and write the frame's hint JSON file."""
        index = request.path_params["index"]
        body = await request.body()
        self.session.hints.put_json(index, body)
        self.stop_playback()
        return self._changed(self.session.hints.path_of(index, "json").name)

    def hints_delete(self, request: Request) -> Response:
        """DELETE /api/hints/{index}: remove the frame's hint JSON file."""
        index = request.path_params["index"]
        self.session.hints.delete(index, "json")
        self.stop_playback()
        return self._changed(None)

    def scribble_get(self, request: Request) -> Response:
        """GET /api/scribbles/{index}: the frame's scribble layer (PNG)."""
        index = request.path_params["index"]
        data = self.session.hints.read(index, "png")
        if data is None:
            return JSONResponse({"error": f"frame {index} has no scribble"}, status_code=404)
        return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def scribble_put(self, request: Request) -> Response:
        """PUT /api/scribbles/{index}: check and write the frame's RGBA scribble PNG."""
        index = request.path_params["index"]
        self.session.hints.put_scribble(index, await request.body())
        self.stop_playback()
        return self._changed(self.session.hints.path_of(index, "png").name)

    def scribble_delete(self, request: Request) -> Response:
        """DELETE /api/scribbles/{index}: remove the frame's scribble layer."""
        index = request.path_params["index"]
        self.session.hints.delete(index, "png")
        self.stop_playback()
        return self._changed(None)

    async def reference_post(self, request: Request) -> Response:
        """POST /api/references: store a reference image; answers its name."""
        name = self.session.hints.add_reference(await request.body(),
                                                request.headers.get("content-type", ""))
        return JSONResponse({"name": name})

    def reference_get(self, request: Request) -> Response:
        """GET /api/references/{name}: a reference image the studio stored."""
        path = self.session.hints.reference_path(request.path_params["name"])
        return FileResponse(path)

    def undo(self, request: Request) -> Response:
        """POST /api/undo: restore the files of the last change."""
        files = self.session.hints.undo()
        self.stop_playback()
        return self._changed(None, [p.name for p in files])

    def redo(self, request: Request) -> Response:
        """POST /api/redo: apply the last undone change again."""
        files = self.session.hints.redo()
        self.stop_playback()
        return self._changed(None, [p.name for p in files])

    def _changed(self, name: str | None, files: list[str] | None = None) -> Response:
        return JSONResponse({"ok": True, "file": name, "files": files or [],
                             "can_undo": self.session.hints.can_undo,
                             "can_redo": self.session.hints.can_redo})

    # ------------------------------------------------------------------ playback

    def stop_playback(self) -> None:
        """End the running shot playback (a hint changed: the page starts a new one)."""
        with self._playback_lock:
            if self._playback is not None:
                self._playback.cancel("a hint changed")
                self._playback = None

    def play(self, request: Request) -> Response:
        """GET /api/frames/{index}/play: the frame's shot as the render colors it (SSE)."""
        index = self.frame_index(request)
        shot = self.session.shot_at(index)
        token = api.CancelToken()
        with self._playback_lock:
            if self._playback is not None:
                self._playback.cancel("another playback started")
            self._playback = token

        def events() -> Iterator[bytes]:
            yield (f"event: shot\ndata: {json.dumps({'start': shot.start, 'stop': shot.stop})}"
                   "\n\n").encode()
            frames = self.session.play_shot(index, token)
            try:
                for i, rgb in frames:
                    data = base64.b64encode(jpeg(rgb)).decode()
                    yield f"data: {json.dumps({'frame': i, 'jpeg': data})}\n\n".encode()
                yield b"event: done\ndata: {}\n\n"
            except VidcolorError as exc:
                yield f"event: error\ndata: {json.dumps({'error': exc.one_line()})}\n\n".encode()
            finally:
                token.cancel("playback closed")
                frames.close()

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ render

    def render_start(self, request: Request) -> Response:
        """POST /api/render: start the real render."""
        if not self.render.start():
            return JSONResponse({"error": "a render is running"}, status_code=409)
        return JSONResponse(self.render.status())

    def render_status(self, request: Request) -> Response:
        """GET /api/render: the render's state, progress and ETA."""
        return JSONResponse(self.render.status())

    def render_cancel(self, request: Request) -> Response:
        """POST /api/render/cancel: stop the render (the next one resumes)."""
        self.render.cancel()
        return JSONResponse(self.render.status())

    def render_output(self, request: Request) -> Response:
        """GET /api/render/output: the finished render's file."""
        if self.render.status().get("state") != "done" or not self.dst.is_file():
            return JSONResponse({"error": "no finished render"}, status_code=404)
        return FileResponse(self.dst, media_type="video/mp4",
                            headers={"Cache-Control": "no-store"})


def build_app(studio: Studio) -> Starlette:
    """The Starlette app of a :class:`Studio`: its routes behind the token and Host checks."""

    def guard(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if not studio.allowed(request):
                return PlainTextResponse("forbidden", status_code=403)
            try:
                result = handler(request)
                if hasattr(result, "__await__"):
                    result = await result
                return result
            except VidcolorError as exc:
                return error_response(exc)

        return endpoint

    def run_sync(handler: Any) -> Any:
        # Blocking handlers (network, decode waits) run in the thread pool.
        from starlette.concurrency import run_in_threadpool

        async def call(request: Request) -> Response:
            return await run_in_threadpool(handler, request)

        return call

    s = studio
    i = "{index:int}"
    routes = [
        Route("/", guard(s.index)),
        Route("/static/{name}", guard(s.static)),
        Route("/favicon.ico", guard(lambda request: Response(status_code=204))),
        Route("/api/film", guard(s.film)),
        Route("/api/shots", guard(run_sync(s.shots))),
        Route(f"/api/frames/{i}/shot", guard(run_sync(s.shot_of))),
        Route(f"/api/frames/{i}/gray", guard(run_sync(s.gray))),
        Route(f"/api/frames/{i}/preview", guard(run_sync(s.preview))),
        Route(f"/api/frames/{i}/thumb", guard(run_sync(s.thumb))),
        Route(f"/api/frames/{i}/palette", guard(run_sync(s.palette))),
        Route(f"/api/frames/{i}/carried", guard(run_sync(s.carried))),
        Route(f"/api/frames/{i}/play", guard(run_sync(s.play))),
        Route("/api/hints", guard(run_sync(s.hints_list))),
        Route(f"/api/hints/{i}", guard(run_sync(s.hints_get)), methods=["GET"]),
        Route(f"/api/hints/{i}", guard(s.hints_put), methods=["PUT"]),
        Route(f"/api/hints/{i}", guard(run_sync(s.hints_delete)), methods=["DELETE"]),
        Route(f"/api/scribbles/{i}", guard(run_sync(s.scribble_get)), methods=["GET"]),
        Route(f"/api/scribbles/{i}", guard(s.scribble_put), methods=["PUT"]),
        Route(f"/api/scribbles/{i}", guard(run_sync(s.scribble_delete)), methods=["DELETE"]),
        Route("/api/references", guard(s.reference_post), methods=["POST"]),
        Route("/api/references/{name}", guard(run_sync(s.reference_get))),
        Route("/api/undo", guard(run_sync(s.undo)), methods=["POST"]),
        Route("/api/redo", guard(run_sync(s.redo)), methods=["POST"]),
        Route("/api/render", guard(s.render_status), methods=["GET"]),
        Route("/api/render", guard(s.render_start), methods=["POST"]),
        Route("/api/render/cancel", guard(s.render_cancel), methods=["POST"]),
        Route("/api/render/output", guard(s.render_output)),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        # Unknown paths answer 403 without the token and 404 with it, never a file.
        if not studio.allowed(request):
            return PlainTextResponse("forbidden", status_code=403)
        status = getattr(exc, "status_code", 404)
        return PlainTextResponse("not found" if status == 404 else "error", status_code=status)

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})


def serve(src: Path, hints_dir: Path, dst: Path, *, port: int = 0, open_browser: bool = True,
          options: dict[str, Any] | None = None) -> None:
    """Open the film, bind 127.0.0.1, print the page's URL and serve until interrupted."""
    import uvicorn

    session = api.open_studio(src, hints_dir, **(options or {}))
    studio = None
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it (Linux): uvicorn writes a response's head and
        # body separately, and Nagle's algorithm with the browser's delayed ACK would hold
        # the body back by 40 ms on a kept-alive connection (measured).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise InputError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); "
                             "expected a free port", field="--port") from None
        sock.listen(64)
        port = sock.getsockname()[1]
        token = secrets.token_urlsafe(24)
        studio = Studio(session, dst, token, port)
        url = f"http://127.0.0.1:{port}/?token={token}"
        sys.stdout.write(f"vidcolor studio: {url}\n")
        sys.stdout.flush()
        session.prefetch(0)  # the page opens on frame 0
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        config = uvicorn.Config(build_app(studio), log_level="warning", access_log=False,
                                timeout_graceful_shutdown=2)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        if studio is not None:
            studio.stop_playback()
            studio.render.cancel()
            thread = studio.render.thread
            if thread is not None:
                thread.join(timeout=30)
        session.close()
