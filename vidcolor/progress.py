"""Progress reporting for long runs: a terminal bar, JSON lines, or nothing.

The run calls a :class:`Progress` object; it never prints by itself. The JSON-lines
protocol is the one in ``docs/ARCHITECTURE.md`` (read by the Blender add-on)::

    {"event": "start", "input": str, "output": str, "frames": int|null, "shots": int|null}
    {"event": "progress", "stage": "analyze"|"colorize"|"encode", "frame": int,
     "frames": int|null, "fps": float, "eta": float|null}
    {"event": "done", "output": str, "frames": int, "seconds": float, "fps": float}
    {"event": "error", "message": str, "exit_code": int}
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

STAGES = ("analyze", "colorize", "encode")


_MIN_RATE_SECONDS = 0.2


class Progress:
    """Receives the run's progress events. This base class ignores them all.

    Subclasses override the ``on_*`` methods. ``update`` rate-limits and computes fps and
    ETA per stage, so the run can call it once per frame.

    Args:
        min_interval: the least number of seconds between two reported updates of a stage.
    """

    def __init__(self, min_interval: float = 0.25):
        self.min_interval = min_interval
        self._stage: str | None = None
        self._stage_start = 0.0
        self._last = 0.0

    def start(self, src: str, dst: str, frames: int | None, shots: int | None) -> None:
        """The run begins (after probing the input)."""
        self.on_start(src, dst, frames, shots)

    def update(self, stage: str, frame: int, frames: int | None, *, force: bool = False) -> None:
        """``frame`` frames of ``stage`` are finished (0 <= frame <= frames).

        Args:
            stage: one of ``analyze``, ``colorize``, ``encode``.
            frame: the number of frames finished so far in this stage.
            frames: the number of frames the stage will see, or None when unknown.
            force: report even if the last report was very recent.
        """
        now = time.monotonic()
        if stage != self._stage:
            self._stage, self._stage_start, self._last = stage, now, 0.0
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        elapsed = now - self._stage_start
        # The stage's first update comes right after it began: a rate over microseconds
        # would read millions of fps, so the rate is 0 (unknown) until time has passed.
        fps = frame / elapsed if elapsed >= _MIN_RATE_SECONDS else 0.0
        eta = (frames - frame) / fps if frames is not None and fps > 0 else None
        self.on_progress(stage, frame, frames, fps, eta)

    def done(self, dst: str, frames: int, seconds: float) -> None:
        """The run finished and ``dst`` is complete."""
        self.on_done(dst, frames, seconds, frames / seconds if seconds > 0 else 0.0)

    def error(self, message: str, exit_code: int) -> None:
        """The run failed; the CLI still prints the one-line message on stderr."""
        self.on_error(message, exit_code)

    def shot_done(self, shot: int, node: str, engine: str) -> None:
        """Shot ``shot`` was colorized on ``node`` by ``engine`` (``"ray"``)."""
        self.on_shot(shot, node, engine)

    def on_shot(self, shot: int, node: str, engine: str) -> None:
        """Hook: a shot came back from a render node."""

    def on_start(self, src: str, dst: str, frames: int | None, shots: int | None) -> None:
        """Hook: run started."""

    def on_progress(
        self, stage: str, frame: int, frames: int | None, fps: float, eta: float | None
    ) -> None:
        """Hook: a rate-limited progress report."""

    def on_done(self, dst: str, frames: int, seconds: float, fps: float) -> None:
        """Hook: run finished."""

    def on_error(self, message: str, exit_code: int) -> None:
        """Hook: run failed."""


class JsonLinesProgress(Progress):
    """One JSON object per line, flushed at once (``--progress jsonl``).

    Args:
        stream: where to write; standard output by default.
        min_interval: the least number of seconds between two progress lines of a stage.
    """

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.25):
        super().__init__(min_interval)
        self.stream = stream if stream is not None else sys.stdout

    def _emit(self, obj: dict) -> None:
        self.stream.write(json.dumps(obj) + "\n")
        self.stream.flush()

    def on_start(self, src: str, dst: str, frames: int | None, shots: int | None) -> None:
        """Write the ``start`` event."""
        self._emit(
            {"event": "start", "input": src, "output": dst, "frames": frames, "shots": shots}
        )

    def on_progress(
        self, stage: str, frame: int, frames: int | None, fps: float, eta: float | None
    ) -> None:
        """Write a ``progress`` event."""
        self._emit(
            {
                "event": "progress",
                "stage": stage,
                "frame": frame,
                "frames": frames,
                "fps": round(fps, 3),
                "eta": None if eta is None else round(eta, 2),
            }
        )

    def on_shot(self, shot: int, node: str, engine: str) -> None:
        """Write a ``shot`` event: which node colorized which shot."""
        self._emit({"event": "shot", "engine": engine, "shot": shot, "node": node})

    def on_done(self, dst: str, frames: int, seconds: float, fps: float) -> None:
        """Write the ``done`` event."""
        self._emit(
            {
                "event": "done",
                "output": dst,
                "frames": frames,
                "seconds": round(seconds, 3),
                "fps": round(fps, 3),
            }
        )

    def on_error(self, message: str, exit_code: int) -> None:
        """Write the ``error`` event."""
        self._emit({"event": "error", "message": message, "exit_code": exit_code})


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds + 0.5)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class BarProgress(Progress):
    """A one-line terminal bar with fps and ETA, redrawn in place (``--progress bar``).

    Args:
        stream: the terminal; standard error by default, so stdout stays clean.
        width: characters in the bar itself.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30):
        super().__init__(min_interval=0.1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._open_line = False

    def on_progress(
        self, stage: str, frame: int, frames: int | None, fps: float, eta: float | None
    ) -> None:
        """Redraw the bar."""
        if frames:
            filled = min(self.width, int(self.width * frame / frames))
            bar = "#" * filled + "-" * (self.width - filled)
            count = f"{frame}/{frames}"
        else:
            bar = "?" * self.width
            count = str(frame)
        line = f"\r{stage:<8} [{bar}] {count} {fps:6.1f} fps  ETA {_clock(eta)}"
        self.stream.write(line + "\x1b[K")
        self.stream.flush()
        self._open_line = True

    def _end_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False

    def on_done(self, dst: str, frames: int, seconds: float, fps: float) -> None:
        """Finish the bar line and print a summary."""
        self._end_line()
        self.stream.write(f"{frames} frames in {seconds:.1f} s ({fps:.1f} fps) -> {dst}\n")
        self.stream.flush()

    def on_error(self, message: str, exit_code: int) -> None:
        """Finish the bar line so the error message starts on a line of its own."""
        self._end_line()
        self.stream.flush()


def make_progress(kind: str) -> Progress:
    """The reporter for a ``--progress`` value.

    Args:
        kind: ``bar``, ``jsonl`` or ``none``.

    Returns:
        A :class:`Progress`.
    """
    if kind == "bar":
        return BarProgress()
    if kind == "jsonl":
        return JsonLinesProgress()
    return Progress()
