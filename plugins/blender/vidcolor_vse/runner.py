"""Run the vidcolor CLI as a child process and follow its JSON-lines progress.

Plain Python on purpose: no ``bpy`` and no ``torch``, so it runs inside Blender's interpreter
without slowing it, and it is tested in the main virtual environment with a fake CLI.

The child writes into a private staging folder beside the destination
(``<dest dir>/.vidcolor-job-XXXX/<dest name>``). Only a finished run is moved onto the
destination; a cancelled or failed run has its staging folder removed, so whatever temporary
files the CLI makes there (partial output, work folder) go with it and nothing is left behind.

Threads: one reads the child's stdout (the protocol events of ``docs/ARCHITECTURE.md``) into a
queue, one keeps the tail of its stderr. The owner (Blender's timer, or a script) calls
:meth:`CliJob.poll` from its own thread; that is the only place the visible state changes.
"""

from __future__ import annotations

import atexit
import enum
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Share of the overall bar given to each stage of a run: (start, end) as fractions of 1.
STAGE_SPANS: Mapping[str, tuple[float, float]] = types.MappingProxyType(
    {"analyze": (0.0, 0.15), "colorize": (0.15, 0.85), "encode": (0.85, 1.0)}
)

#: Environment variables of the parent that must not leak into the CLI's own Python.
_DROPPED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONEXECUTABLE")

_STDERR_LINES = 40


class JobError(Exception):
    """A job that cannot be started or whose command cannot be built.

    The message names the program or path and what was expected of it.
    """


class JobState(enum.Enum):
    """Where a job is, as its owner sees it after :meth:`CliJob.poll`."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Progress:
    """The last ``progress`` event of a run.

    Attributes:
        stage: ``"analyze"``, ``"colorize"`` or ``"encode"`` (other names are kept as given).
        frame: frames of this stage done so far, >= 0.
        frames: frames the stage will do, or None when the CLI does not know.
        fps: frames per second of this stage, >= 0.
        eta: seconds left in this stage, or None.
    """

    stage: str
    frame: int
    frames: int | None
    fps: float
    eta: float | None

    @property
    def fraction(self) -> float | None:
        """Overall progress in [0, 1] across the stages, or None when the length is unknown."""
        if not self.frames or self.frames <= 0:
            return None
        start, end = STAGE_SPANS.get(self.stage, (0.0, 1.0))
        within = min(max(self.frame / self.frames, 0.0), 1.0)
        return start + (end - start) * within


def child_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a vidcolor child process.

    Args:
        base: the environment to start from; ``os.environ`` when None.

    Returns:
        A copy without the parent interpreter's Python path settings (Blender's bundled
        Python must not leak into the CLI's own), with unbuffered UTF-8 output so every
        progress line arrives as soon as it is printed.
    """
    env = dict(os.environ if base is None else base)
    for name in _DROPPED_ENV:
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def popen_platform_kwargs() -> dict[str, object]:
    """Keyword arguments for :class:`subprocess.Popen` that suit the platform.

    On POSIX the child gets its own session, so a kill reaches anything it started and a
    Ctrl-C in Blender's terminal does not reach the child. On Windows no console window opens.
    """
    if sys.platform == "win32":
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) | getattr(
            subprocess, "CREATE_NEW_PROCESS_GROUP", 0
        )
        return {"creationflags": flags}
    return {"start_new_session": True}


class CliJob:
    """One run of ``vidcolor INPUT ... -o OUTPUT --progress jsonl`` in a child process.

    Args:
        command: the command without the output option, e.g.
            ``["/usr/bin/vidcolor", "film.mp4", "--progress", "jsonl", "--overwrite"]``.
            The job appends ``-o <staged output>``; the command must make the CLI print
            protocol events on stdout.
        output: where the finished file goes. Its folder is created if missing. An existing
            file there is replaced only when the run succeeds.
        kill_timeout: seconds between the polite terminate of :meth:`cancel` and a kill.
        env: the child's environment; :func:`child_env` when None.

    Example:
        >>> job = CliJob(["vidcolor", "in.mp4", "--progress", "jsonl"], Path("out.mp4"))
        >>> job.start()  # doctest: +SKIP
        >>> while job.state is JobState.RUNNING:  # doctest: +SKIP
        ...     job.poll(); time.sleep(0.2)
    """

    def __init__(
        self,
        command: Sequence[str],
        output: str | os.PathLike[str],
        *,
        kill_timeout: float = 5.0,
        env: Mapping[str, str] | None = None,
    ):
        if not command:
            raise JobError("command: got an empty command, expected the vidcolor program first")
        if kill_timeout <= 0:
            raise JobError(f"kill_timeout: got {kill_timeout}, expected a positive number")
        self.command = [str(part) for part in command]
        self.output = Path(output).absolute()
        self.kill_timeout = float(kill_timeout)
        self._env = child_env() if env is None else dict(env)

        self._events: queue.SimpleQueue[dict] = queue.SimpleQueue()
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._stderr_lock = threading.Lock()
        self._cancel = threading.Event()
        self._proc: subprocess.Popen[str] | None = None
        self._staging: Path | None = None
        self._started_at = 0.0
        self._ended_at: float | None = None
        self._stderr_thread: threading.Thread | None = None

        # What the owner sees; changed only by poll(), on the owner's thread.
        self._state = JobState.RUNNING
        self._progress: Progress | None = None
        self._total_frames: int | None = None
        self._error: str | None = None
        self._result: dict | None = None
        self._returncode: int | None = None

    # ----------------------------------------------------------------- starting and stopping
    @property
    def argv(self) -> list[str]:
        """The full argument vector the child runs with (after :meth:`start`)."""
        if self._staging is None:
            return [*self.command, "-o", str(self.output)]
        return [*self.command, "-o", str(self._staging / self.output.name)]

    def start(self) -> CliJob:
        """Start the child process and its reader threads.

        Returns:
            self, for chaining.

        Raises:
            JobError: when started twice, when the output folder cannot be made, or when
                the program cannot be executed (missing, not executable).
        """
        if self._proc is not None:
            raise JobError(f"{self.command[0]}: the job was already started")
        try:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            self._staging = Path(tempfile.mkdtemp(prefix=".vidcolor-job-", dir=self.output.parent))
        except OSError as exc:
            raise JobError(
                f"{self.output.parent}: cannot create the output folder ({exc.strerror or exc})"
            ) from exc
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                env=self._env,
                **popen_platform_kwargs(),
            )
        except OSError as exc:
            self._remove_staging()
            raise JobError(
                f"{self.command[0]}: cannot run it ({exc.strerror or exc}); expected the path "
                "of the vidcolor program"
            ) from exc
        self._started_at = time.monotonic()
        atexit.register(self._stop_at_exit)
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, name="vidcolor-job-stderr", daemon=True
        )
        self._stderr_thread.start()
        threading.Thread(target=self._read_stdout, name="vidcolor-job-stdout", daemon=True).start()
        return self

    def cancel(self) -> None:
        """Ask the child to stop; never blocks.

        Sends a terminate now and a kill ``kill_timeout`` seconds later if the child is still
        alive. The partial output is removed once the child has exited; :meth:`poll` then
        reports :attr:`JobState.CANCELLED` (or DONE, when the run had already finished).
        """
        proc = self._proc
        if proc is None or self._state is not JobState.RUNNING or self._cancel.is_set():
            return
        self._cancel.set()
        try:
            proc.terminate()
        except OSError:
            return  # already gone
        killer = threading.Timer(self.kill_timeout, self._kill)
        killer.daemon = True
        killer.start()

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            if sys.platform != "win32":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except OSError:
            pass

    def _stop_at_exit(self) -> None:
        """At interpreter exit (Blender quitting): stop the child and remove its leftovers."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        self._cancel.set()
        try:
            proc.terminate()
            proc.wait(timeout=self.kill_timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            proc.wait()
        except OSError:
            pass
        self._remove_staging()

    # ----------------------------------------------------------------- reader threads
    def _read_stderr(self) -> None:
        proc = self._proc
        if proc is None or proc.stderr is None:
            return
        for line in proc.stderr:
            text = line.rstrip()
            if text:
                with self._stderr_lock:
                    self._stderr.append(text)

    def _read_stdout(self) -> None:
        try:
            outcome = self._follow()
        except Exception as exc:  # a bug here must not leave the owner polling forever
            self._kill()
            self._remove_staging()
            proc = self._proc
            outcome = {
                "event": "_exit",
                "returncode": None if proc is None else proc.poll(),
                "state": JobState.FAILED,
                "message": f"job runner error: {exc!r}",
            }
        self._events.put(outcome)

    def _follow(self) -> dict:
        """Read events until the child exits; returns the closing pseudo-event."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            raise JobError("the job has no process to follow")
        saw_done = False
        error_message: str | None = None
        for line in proc.stdout:
            event = _parse_event(line)
            if event is None:
                continue
            if event["event"] == "done":
                saw_done = True
            elif event["event"] == "error":
                error_message = str(event.get("message") or "")
            self._events.put(event)
        returncode = proc.wait()
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=5.0)
        return self._finish(returncode, saw_done, error_message)

    def _finish(self, returncode: int, saw_done: bool, error_message: str | None) -> dict:
        """Decide the outcome, move or remove the output; returns the closing pseudo-event."""
        staged = None if self._staging is None else self._staging / self.output.name
        outcome: dict = {"event": "_exit", "returncode": returncode}
        try:
            if returncode == 0 and saw_done and staged is not None and staged.is_file():
                try:
                    os.replace(staged, self.output)
                    outcome["state"] = JobState.DONE
                except OSError as exc:
                    outcome["state"] = JobState.FAILED
                    outcome["message"] = (
                        f"{self.output}: cannot move the finished file there "
                        f"({exc.strerror or exc})"
                    )
            elif self._cancel.is_set():
                outcome["state"] = JobState.CANCELLED
                outcome["message"] = "cancelled"
            else:
                outcome["state"] = JobState.FAILED
                outcome["message"] = self._failure_message(
                    returncode, saw_done, error_message, staged
                )
        finally:
            self._remove_staging()
            atexit.unregister(self._stop_at_exit)
        return outcome

    def _failure_message(
        self, returncode: int, saw_done: bool, error_message: str | None, staged: Path | None
    ) -> str:
        if error_message:
            return error_message
        if returncode == 0 and saw_done:
            return f"{self.command[0]}: reported done but wrote no file at {staged}"
        if returncode == 0:
            return f"{self.command[0]}: exited without a 'done' event (is --progress jsonl on?)"
        tail = self._stderr_lines()
        if tail:
            return tail[-1]
        if returncode < 0:
            return f"{self.command[0]}: killed by signal {-returncode}"
        return f"{self.command[0]}: exited with code {returncode}"

    def _stderr_lines(self) -> list[str]:
        with self._stderr_lock:
            return list(self._stderr)

    def _remove_staging(self) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)

    # ----------------------------------------------------------------- owner's view
    def poll(self) -> list[dict]:
        """Apply the events that arrived since the last call; never blocks.

        Returns:
            The protocol events (``start``, ``progress``, ``done``, ``error``), oldest first.
        """
        seen: list[dict] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return seen
            kind = event["event"]
            if kind == "_exit":
                self._returncode = event["returncode"]
                self._state = event["state"]
                self._ended_at = time.monotonic()
                if self._state is JobState.FAILED:
                    self._error = event.get("message")
                continue
            seen.append(event)
            if kind == "start":
                self._total_frames = _optional_int(event.get("frames"))
            elif kind == "progress":
                self._progress = Progress(
                    stage=str(event.get("stage", "")),
                    frame=_optional_int(event.get("frame")) or 0,
                    frames=_optional_int(event.get("frames")),
                    fps=_optional_float(event.get("fps")) or 0.0,
                    eta=_optional_float(event.get("eta")),
                )
            elif kind == "done":
                self._result = event
            elif kind == "error":
                self._error = str(event.get("message") or "")

    def wait(self, timeout: float | None = None, interval: float = 0.05) -> JobState:
        """Poll until the job ends or ``timeout`` seconds pass (for scripts and tests).

        Returns:
            The state at return: RUNNING only when the timeout was reached.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.poll()
            if self._state is not JobState.RUNNING:
                return self._state
            if deadline is not None and time.monotonic() >= deadline:
                return self._state
            time.sleep(interval)

    @property
    def started(self) -> bool:
        """True once :meth:`start` has launched the child."""
        return self._proc is not None

    @property
    def state(self) -> JobState:
        """The state as of the last :meth:`poll`."""
        return self._state

    @property
    def finished(self) -> bool:
        """True once the job is DONE, FAILED or CANCELLED."""
        return self._state is not JobState.RUNNING

    @property
    def cancel_requested(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    @property
    def progress(self) -> Progress | None:
        """The last progress event, or None before the first."""
        return self._progress

    @property
    def fraction(self) -> float | None:
        """Overall progress in [0, 1]: 1.0 when DONE, None while unknown."""
        if self._state is JobState.DONE:
            return 1.0
        return None if self._progress is None else self._progress.fraction

    @property
    def total_frames(self) -> int | None:
        """Frames in the input as announced by the ``start`` event."""
        return self._total_frames

    @property
    def error(self) -> str | None:
        """Why the job failed: the CLI's error event, else its last stderr line."""
        return self._error

    @property
    def result(self) -> dict | None:
        """The ``done`` event (frames, seconds, fps), once received."""
        return self._result

    @property
    def returncode(self) -> int | None:
        """The child's exit status once the job has ended (negative: killed by a signal)."""
        return self._returncode

    @property
    def stderr_tail(self) -> str:
        """The last lines the child wrote on stderr."""
        return "\n".join(self._stderr_lines())

    @property
    def elapsed(self) -> float:
        """Seconds since the start, frozen when the job ends."""
        if not self._started_at:
            return 0.0
        end = self._ended_at if self._ended_at is not None else time.monotonic()
        return end - self._started_at

    def status_text(self) -> str:
        """One line for a panel or the status bar, e.g. ``colorize 120/480 · 12.3 fps``."""
        if self._state is JobState.DONE:
            fps = _optional_float((self._result or {}).get("fps"))
            speed = f" at {fps:.1f} fps" if fps else ""
            return f"Done in {_clock(self.elapsed)}{speed}"
        if self._state is JobState.CANCELLED:
            return "Cancelled"
        if self._state is JobState.FAILED:
            return f"Failed: {self._error or 'unknown error'}"
        if self._cancel.is_set():
            return "Cancelling..."
        progress = self._progress
        if progress is None:
            return "Starting..."
        count = f"{progress.frame}/{progress.frames}" if progress.frames else f"{progress.frame}"
        parts = [f"{progress.stage} {count}", f"{progress.fps:.1f} fps"]
        if progress.eta is not None:
            parts.append(f"{_clock(progress.eta)} left")
        return " · ".join(parts)


def _parse_event(line: str) -> dict | None:
    """One stdout line as a protocol event, or None for anything else (log lines, blanks)."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    if event["event"].startswith("_"):
        return None
    return event


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _optional_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
