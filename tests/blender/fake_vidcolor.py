#!/usr/bin/env python3
"""A stand-in for the ``vidcolor`` CLI that speaks the ``--progress jsonl`` protocol.

Used to test the add-on's job runner on its own (the real CLI is tested too). The behaviour
comes from the environment variable ``FAKE_VIDCOLOR_MODE``:

- ``ok`` (default): start, progress over three stages, writes ``OUTPUT`` (via a temp file and
  a work folder beside it, like the real pipeline), done.
- ``noisy``: as ``ok`` but with log lines and broken JSON mixed into stdout.
- ``error``: an ``error`` event, exit 2, nothing written.
- ``crash``: a traceback on stderr, exit 1, a partial temp file left behind.
- ``slow``: writes partial files, then progresses one frame every 0.2 s for a minute;
  exits 143 on SIGTERM without cleaning up (the runner must clean).
- ``stubborn``: as ``slow`` but ignores SIGTERM (the runner must kill it).
- ``silent``: exits 0 without any event.

``FAKE_VIDCOLOR_FRAMES`` sets the frame count (default 6). ``hints template INPUT -o DIR
--frames N`` writes ``N.png`` (a 2x2 RGB PNG) and ``N.json``. Every invocation appends its
argv as one JSON line to ``FAKE_VIDCOLOR_LOG`` when that is set.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import time
import zlib
from pathlib import Path


def emit(**event: object) -> None:
    print(json.dumps(event), flush=True)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes([90, 90, 90] * 2) for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def hints_template(argv: list[str]) -> int:
    out = Path(option(argv, "-o") or ".")
    frames = [int(f) for f in (option(argv, "--frames") or "0").split(",")]
    out.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        (out / f"{frame}.png").write_bytes(tiny_png())
        (out / f"{frame}.json").write_text(json.dumps({"version": 1, "frame": frame, "points": []}))
    return 0


def colorize(argv: list[str], mode: str, frames: int) -> int:
    source, output = argv[0], Path(option(argv, "-o") or "out.mp4")
    temp = output.with_name(f".{output.name}.partial")
    work = output.with_name(output.name + ".vidcolor-work")
    if mode == "error":
        emit(event="error", message=f"{source}: not a video (found no video stream)", exit_code=2)
        print(f"vidcolor: {source}: not a video", file=sys.stderr)
        return 2
    if mode == "silent":
        return 0
    emit(event="start", input=source, output=str(output), frames=frames, shots=1)
    work.mkdir(exist_ok=True)
    (work / "shot-0000.npz").write_bytes(b"partial")
    temp.write_bytes(b"partial")
    if mode == "crash":
        print("Traceback (most recent call last):", file=sys.stderr)
        print("RuntimeError: fake crash in the pipeline", file=sys.stderr)
        return 1
    if mode in ("slow", "stubborn"):
        if mode == "stubborn":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        for frame in range(300):
            emit(event="progress", stage="colorize", frame=frame, frames=300, fps=5.0, eta=None)
            time.sleep(0.2)
        return 0
    for stage in ("analyze", "colorize", "encode"):
        for frame in range(1, frames + 1):
            if mode == "noisy":
                print(f"log: {stage} frame {frame}", flush=True)
                print("{not json", flush=True)
            emit(event="progress", stage=stage, frame=frame, frames=frames, fps=30.0, eta=0.1)
    temp.write_bytes(b"colorized movie")
    os.replace(temp, output)
    (work / "shot-0000.npz").unlink()
    work.rmdir()
    emit(event="done", output=str(output), frames=frames, seconds=0.1, fps=60.0)
    return 0


def main() -> int:
    argv = sys.argv[1:]
    log = os.environ.get("FAKE_VIDCOLOR_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(argv) + "\n")
    if argv[:2] == ["hints", "template"]:
        return hints_template(argv[2:])
    mode = os.environ.get("FAKE_VIDCOLOR_MODE", "ok")
    return colorize(argv, mode, int(os.environ.get("FAKE_VIDCOLOR_FRAMES", "6")))


if __name__ == "__main__":
    sys.exit(main())
