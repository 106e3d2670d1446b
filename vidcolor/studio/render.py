"""The studio's Render button: the real render in a thread, with progress, ETA and Cancel."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from vidcolor import api
from vidcolor.errors import Cancelled, VidcolorError


class RenderJob:
    """The Render button's run, in a thread: progress, ETA, cancel, and its output file."""

    def __init__(self, session: api.PreviewSession, dst: Path):
        self.session, self.dst = session, dst
        self.lock = threading.Lock()
        self.state: dict[str, Any] = {"state": "idle"}
        self.token: api.CancelToken | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start a render; False when one is running."""
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return False
            self.token = api.CancelToken()
            self.state = {"state": "running", "stage": "start", "frame": 0,
                          "frames": self.session.frame_count(), "eta": None, "fps": 0.0,
                          "started": time.time()}
            self.thread = threading.Thread(target=self._run, args=(self.token,),
                                           name="vidcolor-studio-render", daemon=True)
            self.thread.start()
            return True

    def _run(self, token: api.CancelToken) -> None:
        job = self

        class _Progress(api.Progress):
            def on_progress(self, stage: str, frame: int, frames: int | None,  # noqa: D102
                            fps: float, eta: float | None) -> None:
                with job.lock:
                    job.state.update(stage=stage, frame=frame, frames=frames, fps=fps,
                                     eta=eta)

        try:
            report = self.session.render(self.dst, progress=_Progress(min_interval=0.2),
                                         cancel=token)
            with self.lock:
                self.state = {"state": "done", "frames": report.frames,
                              "seconds": report.seconds, "output": str(report.output),
                              "resumed_shots": report.resumed_shots}
        except Cancelled as exc:
            with self.lock:
                self.state = {"state": "cancelled", "message": exc.one_line()}
        except VidcolorError as exc:
            with self.lock:
                self.state = {"state": "error", "message": exc.one_line()}
        except Exception as exc:  # noqa: BLE001 - shown in the page, not a server crash
            with self.lock:
                self.state = {"state": "error", "message": f"{type(exc).__name__}: {exc}"}

    def cancel(self) -> None:
        """Stop the running render; its finished shots are kept for the next one."""
        if self.token is not None:
            # As a signal does: the work folder stays, so the next render resumes.
            self.token.cancel("cancelled in the studio", signum=2)

    def status(self) -> dict[str, Any]:
        """The render's state: ``state`` (idle, running, done, cancelled, error) and more."""
        with self.lock:
            return dict(self.state)
