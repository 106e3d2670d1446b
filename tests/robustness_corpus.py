"""Run many real ``vidcolor`` command lines cheaply, and snapshot folders around them.

Starting Python and importing torch, PyAV and OpenCV costs about two CPU seconds, more
than most bad-input cases take to fail. :func:`run_cli_batch` therefore starts ONE
subprocess (this file run as a script) that imports the CLI and its heavy dependencies
once, then forks one child per job. Each child is a fresh process that runs
``vidcolor.cli.main(argv)`` exactly as ``python -m vidcolor`` does, with its own working
directory, environment, stdout and stderr files (real file descriptors 1 and 2, so the
bytes are what a user would see), optional ``RLIMIT_FSIZE`` (a full disk) and a time
limit. Its exit status is the real process exit status. A Python exception that escapes
the CLI is printed as the interpreter would print it ("Traceback ..."), so a test can
tell a bug from a clean error.

:func:`snapshot` records every file below a folder with its sha256, so a test can prove
that a run changed nothing but its output (no temp file, no work folder, input intact).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Job:
    """One command line to run in a forked child.

    Attributes:
        id: a unique name; also names its stdout/stderr files in the batch folder.
        argv: the arguments after ``vidcolor``.
        cwd: the child's working directory.
        env: variables added to the child's environment.
        fsize: ``RLIMIT_FSIZE`` in bytes for the child (the largest file it may write:
            a full disk), or None.
        timeout: seconds before the child is killed (then ``timed_out`` is True).
    """

    id: str
    argv: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    fsize: int | None = None
    timeout: float = 180.0


@dataclass
class Result:
    """What one job did: exit code (negative: killed by that signal), output, time."""

    id: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool


def run_cli_batch(jobs: list[Job], folder: Path, *, timeout: float = 1500.0) -> dict[str, Result]:
    """Run ``jobs`` one after another, each in its own forked process, from one interpreter.

    Args:
        jobs: the command lines.
        folder: where the job list, results and each job's stdout/stderr files go.
        timeout: seconds for the whole batch.

    Returns:
        ``{job.id: Result}``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "jobs.json"
    spec.write_text(json.dumps([asdict(j) for j in jobs]))
    results = folder / "results.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([sys.executable, __file__, str(spec), str(results), str(folder)],
                          env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if proc.returncode != 0 or not results.exists():
        raise RuntimeError(f"the batch runner failed ({proc.returncode}):\n{proc.stderr}")
    out = {}
    for row in json.loads(results.read_text()):
        out[row["id"]] = Result(
            id=row["id"], returncode=row["returncode"], seconds=row["seconds"],
            timed_out=row["timed_out"],
            stdout=(folder / f"{row['id']}.out").read_text(errors="replace"),
            stderr=(folder / f"{row['id']}.err").read_text(errors="replace"))
    return out


def snapshot(root: Path) -> dict[str, str]:
    """Every entry below ``root``: relative path -> sha256 of a file, or its kind.

    Symlinks are recorded by target (never followed), folders as ``"dir"``, FIFOs and
    other special files by kind (never opened).
    """
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "link->" + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = "special"
    return out


# --------------------------------------------------------------------------- the runner


def _child(job: dict, folder: Path) -> None:  # pragma: no cover - runs in a forked child
    import resource
    import signal
    import traceback

    code = 1
    try:
        os.setpgid(0, 0)  # its own group: a timeout kill takes its threads and children
        out = os.open(folder / f"{job['id']}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open(folder / f"{job['id']}.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        os.chdir(job["cwd"])
        os.environ.update(job["env"])
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT
                          else signal.SIG_DFL)
        if job["fsize"] is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (job["fsize"], job["fsize"]))
        from vidcolor import cli

        try:
            cli.main(job["argv"])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - the child is about to exit
                pass
        os._exit(code)


def _wait(pid: int, timeout: float) -> tuple[int, bool]:
    import signal

    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)  # the child's own process group (setpgid above)
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status), True
        time.sleep(0.02)


def _serve(spec: Path, results: Path, folder: Path) -> None:
    # The heavy imports, once; nothing here starts a thread or an OpenMP pool, so forking
    # afterwards is safe.
    import av  # noqa: F401
    import cv2  # noqa: F401
    import torch  # noqa: F401

    import vidcolor.api  # noqa: F401
    import vidcolor.cli  # noqa: F401
    import vidcolor.run  # noqa: F401

    rows = []
    for job in json.loads(spec.read_text()):
        sys.stdout.flush()
        sys.stderr.flush()
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(job, folder)
        code, timed_out = _wait(pid, job["timeout"])
        rows.append({"id": job["id"], "returncode": code, "timed_out": timed_out,
                     "seconds": time.monotonic() - t0})
    results.write_text(json.dumps(rows))


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
