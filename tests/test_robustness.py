"""Robustness: hostile and odd inputs through the real command line, interruptions, full
disks, damaged files and untrusted weights (issue 5).

The bad-input corpus is generated here, one folder per case. Every case runs as its own
process through ``vidcolor.cli.main`` (forked from one pre-loaded interpreter by
``robustness_corpus.run_cli_batch``, so the corpus costs one interpreter start, not
sixty) and must either

* succeed with a correct output: the input's frame count and presentation times, and its
  luma (PSNR >= 45 dB); rotation, interlacing and audio where the input has them; or
* exit non-zero with exactly one ``vidcolor: error: ...`` line on stderr, naming what was
  wrong, and no traceback;

and in every case leave its folder exactly as it was, plus the output on success: the input
and hint files byte-identical, no temp file, no work folder, nothing in ``$TMPDIR``.

Interruptions (signals during the encode pass, double Ctrl-C, SIGKILL with a temp file
left behind, resuming with changed hints) run the real CLI in a subprocess with one stage
slowed down. ``tests/test_run.py`` already covers SIGINT/SIGTERM during the colorize
pass and SIGKILL + ``--resume`` after a finished shot; these tests cover the rest.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import media
import numpy as np
import pytest
import torch
from robustness_corpus import Job, Result, run_cli_batch, snapshot
from test_run import REPO, WORKING_SIZE, random_weights_file

FRAMES = 12
ERROR_PREFIX = "vidcolor: error: "


# --------------------------------------------------------------------------- case model


@dataclass
class Ok:
    """A run that must succeed with a correct output.

    Attributes:
        output: the output file.
        reference: the clip whose frames, times and luma the output must have (the input,
            or an undamaged copy of a damaged input).
        frames: expected frame count.
        skip_luma: frames whose luma is not compared with ``reference`` (filled ones).
        rotation / interlaced / audio: also compare these with ``reference``.
        report: a ``--report`` file and the values it must hold.
        stderr_has: substrings that stderr must contain (warnings).
    """

    output: Path
    reference: Path
    frames: int = FRAMES
    skip_luma: tuple[int, ...] = ()
    rotation: bool = False
    interlaced: bool = False
    audio: bool = False
    report: tuple[Path, dict] | None = None
    stderr_has: tuple[str, ...] = ()


@dataclass
class Fails:
    """A run that must fail cleanly: exit ``code``, one error line holding ``needles``."""

    code: int = 2
    needles: tuple[str, ...] = ()


@dataclass
class Spec:
    """A built case: its command line, expectation and sandbox."""

    argv: list[str]
    expect: Ok | Fails
    fsize: int | None = None
    marker: Path | None = None  # a file that must never come to exist (code ran)
    must_not_exist: tuple[Path, ...] = ()


@dataclass
class Case:
    id: str
    build: Callable[[Path, Path], Spec]  # (case folder, weights file) -> Spec
    xfail: str | None = None
    tags: set[str] = field(default_factory=set)


def fast(weights: Path) -> list[str]:
    """Options for a quick run: tiny random weights, CPU, small working size, no bar."""
    return ["--weights", str(weights), "--device", "cpu",
            "--working-size", str(WORKING_SIZE), "--progress", "none"]


def video_run(src: Path, out: Path, weights: Path, *extra: str) -> list[str]:
    return [str(src), "-o", str(out), *fast(weights), *extra]


def fails_on(d: Path, w: Path, src: Path, *needles: str, code: int = 2,
             hints: Path | None = None, extra: tuple[str, ...] = ()) -> Spec:
    """A video run of ``src`` into ``d/out.mp4`` that must fail and leave no output."""
    out = d / "out.mp4"
    argv = video_run(src, out, w, *extra)
    if hints is not None:
        argv += ["--keyframe-hints", str(hints)]
    return Spec(argv, Fails(code, needles), must_not_exist=(out,))


# --------------------------------------------------------------------------- not video


def _empty(d, w):
    return fails_on(d, w, media.make_empty(d / "empty.mp4"), "empty.mp4", "empty")


def _random_bytes(d, w):
    return fails_on(d, w, media.make_random_bytes(d / "noise.mp4", n=65536), "noise.mp4")


def _truncated_mp4(d, w):
    whole = media.make_clip(d / "whole.mp4", frames=FRAMES, audio=True)
    cut = media.make_truncated(whole, d / "half.mp4")
    whole.unlink()
    return fails_on(d, w, cut, "half.mp4")


def _png_named_mp4(d, w):
    return fails_on(d, w, media.make_png(d / "still.mp4"), "still.mp4", "still image")


def _audio_only(d, w):
    return fails_on(d, w, media.make_audio_only(d / "tone.mp4"), "tone.mp4", "audio only")


def _zero_frames(d, w):
    return fails_on(d, w, media.make_no_frames(d / "none.mkv"), "none.mkv", "zero frames")


def _zero_frames_no_audio(d, w):
    return fails_on(d, w, media.make_no_frames(d / "bare.mkv", audio=False), "bare.mkv")


def _directory_input(d, w):
    (d / "folder.mp4").mkdir()
    return fails_on(d, w, d / "folder.mp4", "folder.mp4")


def _missing_input(d, w):
    return fails_on(d, w, d / "absent.mp4", "absent.mp4")


def _text_named_mkv(d, w):
    (d / "notes.mkv").write_text("this is not a film\n" * 100)
    return fails_on(d, w, d / "notes.mkv", "notes.mkv")


def _input_is_dev_zero(d, w):
    os.symlink("/dev/zero", d / "zero.mp4")  # a reader that trusts it never ends
    return fails_on(d, w, d / "zero.mp4", "zero.mp4")


def _newline_in_name(d, w):
    """A path holding a line break must still give ONE error line (the name quoted)."""
    return fails_on(d, w, media.make_random_bytes(d / "reel\nfake.mp4"), "fake.mp4")


# --------------------------------------------------------------------------- unusual video


def ok_run(d: Path, w: Path, src: Path, out_name: str = "out.mkv", **kw) -> Spec:
    out = d / out_name
    return Spec(video_run(src, out, w), Ok(out, src, **kw))


def _tiny_16(d, w):
    return ok_run(d, w, media.make_clip(d / "tiny.mp4", frames=FRAMES, size=(16, 16)))


def _odd_vp9(d, w):
    src = media.make_clip(d / "odd.webm", frames=FRAMES, size=(31, 17), codec="libvpx-vp9")
    return ok_run(d, w, src)


def _odd_x264_444(d, w):
    src = media.make_clip(d / "odd.mp4", frames=FRAMES, size=(33, 19), pix_fmt="yuv444p")
    return ok_run(d, w, src, "out.mp4")


def _ten_bit(d, w):
    src = media.make_clip(d / "ten.mkv", frames=FRAMES, pix_fmt="yuv420p10le")
    return ok_run(d, w, src)


def _yuv444(d, w):
    src = media.make_clip(d / "full444.mp4", frames=FRAMES, pix_fmt="yuv444p")
    return ok_run(d, w, src, "out.mp4")


def _interlaced(d, w):
    src = media.make_clip(d / "inter.mp4", frames=FRAMES, interlaced=True)
    return ok_run(d, w, src, "out.mp4", interlaced=True)


def _rotation(d, w):
    src = media.make_clip(d / "rot.mp4", frames=FRAMES, rotation=270)
    return ok_run(d, w, src, "out.mp4", rotation=True)


def _vfr(d, w):
    return ok_run(d, w, media.make_clip(d / "vfr.mkv", frames=FRAMES, vfr=True))


def _full_range(d, w):
    src = media.make_clip(d / "pc.mp4", frames=FRAMES, full_range=True)
    return ok_run(d, w, src, "out.mp4")


def _single_frame(d, w):
    return ok_run(d, w, media.make_clip(d / "one.mp4", frames=1), frames=1)


def _extreme_aspect(d, w):
    src = media.make_clip(d / "wide.mp4", frames=FRAMES, size=(256, 16))
    return ok_run(d, w, src, "out.mp4")


def _gray_ffv1(d, w):
    src = media.make_clip(d / "gray.mkv", frames=FRAMES, codec="ffv1", pix_fmt="gray",
                          full_range=True)
    return ok_run(d, w, src)


def _cuts_audio_borrow(d, w):
    src = media.make_clip(d / "film.mp4", frames=24, cuts=(8, 16), audio=True)
    hints = d / "hints"
    hints.mkdir()
    (hints / "20.json").write_text(json.dumps({"version": 1, "points": [
        {"x": 0.5, "y": 0.5, "color": "#7a4b2c", "size": 0.3}]}))
    out = d / "out.mp4"
    report = d / "report.json"
    argv = video_run(src, out, w, "--keyframe-hints", str(hints), "--report", str(report))
    return Spec(argv, Ok(out, src, frames=24, audio=True, report=(report, {"shots": 3})))


def _default_output_name(d, w):
    """No ``-o``: the output goes beside the input as ``<stem>_color<suffix>``."""
    src = media.make_clip(d / "reel.mkv", frames=FRAMES)
    return Spec([str(src), *fast(w)], Ok(d / "reel_color.mkv", src))


def _unicode_and_spaces(d, w):
    """Non-ASCII names with spaces, read through a symlink, default output name."""
    real = media.make_clip(d / "Bänd 1 – «première».mp4", frames=FRAMES)
    os.symlink(real.name, d / "film (link).mp4")
    return Spec([str(d / "film (link).mp4"), *fast(w)], Ok(d / "film (link)_color.mp4", real))


def _corrupt_h264(d, w, *, strict: bool = False):
    """An intra-only H.264 clip whose packet 5 is overwritten with random bytes."""
    pristine = media.make_clip(d.parent / f"{d.name}-pristine.mkv", frames=FRAMES, gop=1)
    src = d / "damaged.mkv"
    data = bytearray(pristine.read_bytes())
    with av.open(str(pristine)) as c:
        spots = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]
    pos, size = spots[5]
    rng = np.random.default_rng(5)
    data[pos + 4: pos + size] = rng.integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    src.write_bytes(bytes(data))
    if strict:
        return fails_on(d, w, src, "damaged.mkv", extra=("--strict",))
    out, report = d / "out.mkv", d / "report.json"
    argv = video_run(src, out, w, "--report", str(report))
    return Spec(argv, Ok(out, pristine, skip_luma=(5,), stderr_has=("1 damaged frame",),
                         report=(report, {"decode_errors_filled": 1, "frames": FRAMES})))


def _corrupt_png_mov(d, w):
    pristine = media.make_clip(d.parent / f"{d.name}-pristine.mov", frames=FRAMES,
                               codec="png", pix_fmt="gray", full_range=True)
    src = media.make_corrupt_clip(d / "damaged.mov", frames=FRAMES, bad=(0, 7))
    out, report = d / "out.mkv", d / "report.json"
    argv = video_run(src, out, w, "--report", str(report))
    return Spec(argv, Ok(out, pristine, skip_luma=(0, 7), stderr_has=("2 damaged frame",),
                         report=(report, {"decode_errors_filled": 2})))


# --------------------------------------------------------------------------- bad hints


def clip_and_hints(d: Path) -> tuple[Path, Path]:
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    hints = d / "hints"
    hints.mkdir()
    return src, hints


def hint_json(name: str, text: str | bytes, *needles: str) -> Callable[[Path, Path], Spec]:
    """A case: one hint file ``name`` holding ``text``; the run must fail naming it."""

    def build(d, w):
        src, hints = clip_and_hints(d)
        path = hints / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return fails_on(d, w, src, name, *needles, hints=hints)

    return build


def point(**kw) -> str:
    return json.dumps({"version": 1, "points": [{"x": 0.5, "y": 0.5, **kw}]})


def _hints_is_a_file(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    (d / "hints").write_text("{}")
    return fails_on(d, w, src, "hints", "not a directory", hints=d / "hints")


def _hints_dir_missing(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    return fails_on(d, w, src, "nohints", hints=d / "nohints")


def _hints_dir_broken_link(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    os.symlink(d / "gone", d / "hints")
    return fails_on(d, w, src, "hints", hints=d / "hints")


def _hint_entry_broken_link(d, w):
    src, hints = clip_and_hints(d)
    os.symlink(d / "gone.json", hints / "3.json")
    return fails_on(d, w, src, "3.json", hints=hints)


def _hint_entry_is_dir(d, w):
    src, hints = clip_and_hints(d)
    (hints / "3.json").mkdir()
    return fails_on(d, w, src, "3.json", hints=hints)


def _hint_entry_fifo(d, w):
    src, hints = clip_and_hints(d)
    os.mkfifo(hints / "3.json")
    return fails_on(d, w, src, "3.json", "not a regular file", hints=hints)


def _hint_entry_dev_zero(d, w):
    src, hints = clip_and_hints(d)
    os.symlink("/dev/zero", hints / "4.png")
    return fails_on(d, w, src, "4.png", "not a regular file", hints=hints)


def _hint_frame_past_end(d, w):
    src, hints = clip_and_hints(d)
    (hints / f"{FRAMES}.json").write_text('{"version": 1, "points": []}')
    return fails_on(d, w, src, f"{FRAMES}", hints=hints)


def _hint_frame_past_end_mkv(d, w):
    """Matroska has no frame count in its header: the check comes after the analysis pass,
    which must then leave no work folder behind."""
    src = media.make_clip(d / "in.mkv", frames=FRAMES)
    hints = d / "hints"
    hints.mkdir()
    (hints / "50.json").write_text('{"version": 1, "points": []}')
    return fails_on(d, w, src, "50", hints=hints)


def _hint_frame_huge(d, w):
    src, hints = clip_and_hints(d)
    (hints / "999999999999.json").write_text('{"version": 1, "points": []}')
    return fails_on(d, w, src, "999999999999", hints=hints)


def _duplicate_frame(d, w):
    src, hints = clip_and_hints(d)
    (hints / "7.json").write_text('{"version": 1, "points": []}')
    (hints / "007.json").write_text('{"version": 1, "points": []}')
    return fails_on(d, w, src, "frame 7", hints=hints)


def _malformed_png(d, w):
    src, hints = clip_and_hints(d)
    (hints / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return fails_on(d, w, src, "3.png", hints=hints)


def _truncated_png(d, w):
    src, hints = clip_and_hints(d)
    whole = media.make_png(d / "full.png", size=(64, 48), rgba=True).read_bytes()
    (d / "full.png").unlink()
    (hints / "3.png").write_bytes(whole[: len(whole) // 2])
    return fails_on(d, w, src, "3.png", hints=hints)


def _bomb_scribble(d, w):
    src, hints = clip_and_hints(d)
    (hints / "3.png").write_bytes(media.png_header(100_000, 100_000))
    return fails_on(d, w, src, "3.png", "10000000000 pixels", hints=hints)


def _bomb_reference(d, w):
    src, hints = clip_and_hints(d)
    (hints / "ref.png").write_bytes(media.png_header(60_000, 60_000))
    (hints / "2.json").write_text('{"version": 1, "points": [], "reference": "ref.png"}')
    return fails_on(d, w, src, "ref.png", "3600000000 pixels", hints=hints)


def _reference_missing(d, w):
    src, hints = clip_and_hints(d)
    (hints / "2.json").write_text('{"version": 1, "points": [], "reference": "gone.jpg"}')
    return fails_on(d, w, src, "gone.jpg", hints=hints)


def _reference_dev_zero(d, w):
    src, hints = clip_and_hints(d)
    (hints / "2.json").write_text('{"version": 1, "points": [], "reference": "/dev/zero"}')
    return fails_on(d, w, src, "/dev/zero", hints=hints)


def _unknown_names_only(d, w):
    """Files that are not hint files are ignored with a warning: the run succeeds."""
    src, hints = clip_and_hints(d)
    (hints / "notes.txt").write_text("colour notes")
    (hints / "frame3.json").write_text("{}")
    out = d / "out.mp4"
    argv = video_run(src, out, w, "--keyframe-hints", str(hints))
    return Spec(argv, Ok(out, src, stderr_has=("notes.txt",)))


HINT_CASES = [
    ("json_truncated", hint_json("3.json", '{"version": 1, "points": [{"x": 0.5', "invalid JSON")),
    ("json_not_object", hint_json("3.json", "[1, 2, 3]")),
    ("json_binary", hint_json("3.json", bytes(range(256)) * 4, "invalid JSON")),
    ("json_nan", hint_json("3.json", '{"version": 1, "points": [{"x": NaN, "y": 0.5, '
                                     '"color": "red"}]}', "points[0].x")),
    ("json_infinity", hint_json("3.json", '{"version": 1, "points": [{"x": 0.5, "y": 1e400, '
                                          '"color": "red"}]}', "points[0].y")),
    ("y_out_of_range", hint_json("3.json", point(y=-0.1, color="red"), "points[0].y")),
    ("rgb_out_of_range", hint_json("3.json", point(color=[300, 0, 0]), "points[0].color")),
    ("ab_out_of_range", hint_json("3.json", point(ab=[0, 200]), "points[0].ab")),
    ("size_zero", hint_json("3.json", point(color="red", size=0), "points[0].size")),
    ("unknown_color_name", hint_json("3.json", point(color="notacolour"), "points[0].color")),
    ("color_and_ab", hint_json("3.json", point(color="red", ab=[1, 2]), "points[0]")),
    ("frame_contradicts_name", hint_json(
        "3.json", '{"version": 1, "frame": 4, "points": []}', "frame", "3")),
    ("version_2", hint_json("3.json", '{"version": 2, "points": []}', "version")),
    ("deep_nesting", hint_json("3.json", '{"version": 1, "points": ' + "[" * 100_000
                               + "]" * 100_000 + "}")),
]


# --------------------------------------------------------------------------- outputs


def _output_is_input(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    return Spec(video_run(src, src, w, "--overwrite"), Fails(2, ("input",)))


def _output_links_to_input(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    os.symlink(src, d / "out.mp4")
    return Spec(video_run(src, d / "out.mp4", w, "--overwrite"), Fails(2, ("input",)))


def _output_folder_missing(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    return Spec(video_run(src, d / "nowhere" / "out.mp4", w), Fails(2, ("nowhere",)),
                must_not_exist=(d / "nowhere",))


def _output_is_folder(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    (d / "out.mp4").mkdir()
    return Spec(video_run(src, d / "out.mp4", w, "--overwrite"), Fails(2, ("out.mp4",)))


def _output_unknown_container(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    return Spec(video_run(src, d / "out.xyz", w), Fails(2, ("out.xyz",)),
                must_not_exist=(d / "out.xyz",))


def _output_without_extension(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    return Spec(video_run(src, d / "out", w), Fails(2, ("out",)), must_not_exist=(d / "out",))


def _report_folder_missing(d, w):
    """An unwritable ``--report`` path must fail like any other bad path, before the run."""
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    out = d / "out.mp4"
    argv = video_run(src, out, w, "--report", str(d / "nowhere" / "report.json"))
    return Spec(argv, Fails(2, ("nowhere",)), must_not_exist=(out,))


# --------------------------------------------------------------------------- full disk


def _disk_full_spill(d, w):
    """Files may hold 16 kB (RLIMIT_FSIZE): the work folder's first spill file hits it."""
    src = media.make_clip(d / "in.mp4", frames=6, size=(320, 240), pattern="noise")
    spec = fails_on(d, w, src, "vidcolor-work", "cannot write", code=1)
    spec.fsize = 16_000
    return spec


def _disk_full_encode(d, w):
    """Every work file fits in 600 kB; the noisy 640x480 output does not."""
    src = media.make_clip(d / "in.mp4", frames=6, size=(640, 480), pattern="noise")
    spec = fails_on(d, w, src, "out.mp4: no space left", "removed", code=1)
    spec.fsize = 600_000
    return spec


def _image_disk_full(d, w):
    import cv2

    src = d / "in.png"
    cv2.imwrite(str(src), media.pattern_frame(0, (320, 240), "noise"))
    out = d / "out.png"
    argv = ["image", str(src), "-o", str(out), "--weights", str(w), "--device", "cpu"]
    return Spec(argv, Fails(1, ("out.png: no space left",)), fsize=20_000,
                must_not_exist=(out,))


# --------------------------------------------------------------------------- untrusted files


class Planted:
    """An object whose unpickling runs code: it creates the file ``path``."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _evil_state(marker: Path) -> dict:
    return {"model1.0.weight": Planted(marker), "model1.0.bias": torch.zeros(64)}


def _weights_evil_pth(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    marker = d.parent / f"{d.name}-PWNED"
    torch.save(_evil_state(marker), d / "evil.pth")
    spec = fails_on(d, w, src, "evil.pth")
    spec.argv[spec.argv.index("--weights") + 1] = str(d / "evil.pth")
    spec.marker = marker
    return spec


def _weights_pickle_named_safetensors(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    marker = d.parent / f"{d.name}-PWNED"
    (d / "w.safetensors").write_bytes(pickle.dumps(_evil_state(marker)))
    spec = fails_on(d, w, src, "w.safetensors")
    spec.argv[spec.argv.index("--weights") + 1] = str(d / "w.safetensors")
    spec.marker = marker
    return spec


def _weights_import_evil(d, w):
    marker = d.parent / f"{d.name}-PWNED"
    torch.save(_evil_state(marker), d / "siggraph17.pth")
    return Spec(["weights", "import", str(d / "siggraph17.pth")], Fails(2, ("siggraph17.pth",)),
                marker=marker)


def _weights_truncated_safetensors(d, w):
    src = media.make_clip(d / "in.mp4", frames=FRAMES)
    data = w.read_bytes()
    (d / "cut.safetensors").write_bytes(data[: len(data) // 3])
    spec = fails_on(d, w, src, "cut.safetensors")
    spec.argv[spec.argv.index("--weights") + 1] = str(d / "cut.safetensors")
    return spec


def _weights_download_evil(d, w):
    """A download with the right checksum is still a pickle: refused, nothing kept, no code."""
    import hashlib

    marker = d.parent / f"{d.name}-PWNED"
    evil = d.parent / f"{d.name}-siggraph17.pth"  # outside the snapshot: the "server"
    torch.save(_evil_state(marker), evil)
    sha = hashlib.sha256(evil.read_bytes()).hexdigest()
    argv = ["weights", "download", evil.as_uri(), "--sha256", sha, "--name", "evil"]
    return Spec(argv, Fails(2, ()), marker=marker)


def _weights_download_wrong_sha(d, w):
    argv = ["weights", "download", w.as_uri(), "--sha256", "0" * 64, "--name", "mine"]
    return Spec(argv, Fails(2, ("sha256",)))


def _weights_download_missing(d, w):
    argv = ["weights", "download", (d / "absent.safetensors").as_uri(), "--sha256", "0" * 64,
            "--name", "mine"]
    return Spec(argv, Fails(2, ("absent.safetensors",)))


def _suggest_bomb(d, w):
    (d / "bomb.png").write_bytes(media.png_header(100_000, 100_000))
    argv = ["suggest", str(d / "bomb.png"), "--at", "0.5,0.5", "--weights", str(w),
            "--device", "cpu"]
    return Spec(argv, Fails(2, ("bomb.png",)))


def _suggest_point_outside(d, w):
    import cv2

    cv2.imwrite(str(d / "in.png"), media.pattern_frame(0, (40, 30)))
    argv = ["suggest", str(d / "in.png"), "--at", "1.5,nan", "--weights", str(w),
            "--device", "cpu"]
    return Spec(argv, Fails(2, ("1.5",)))


def _image_bomb_input(d, w):
    (d / "bomb.png").write_bytes(media.png_header(100_000, 100_000))
    out = d / "out.png"
    argv = ["image", str(d / "bomb.png"), "-o", str(out), "--weights", str(w), "--device", "cpu"]
    return Spec(argv, Fails(2, ("bomb.png",)), must_not_exist=(out,))


def _image_bomb_hint(d, w):
    import cv2

    cv2.imwrite(str(d / "in.png"), media.pattern_frame(0, (40, 30)))
    (d / "scribble.png").write_bytes(media.png_header(100_000, 100_000))
    out = d / "out.png"
    argv = ["image", str(d / "in.png"), "-o", str(out), "--hints", str(d / "scribble.png"),
            "--weights", str(w), "--device", "cpu"]
    return Spec(argv, Fails(2, ("scribble.png",)), must_not_exist=(out,))


# --------------------------------------------------------------------------- the corpus



CASES: list[Case] = [
    # not video
    Case("empty_file", _empty),
    Case("random_bytes", _random_bytes),
    Case("mp4_cut_in_half", _truncated_mp4),
    Case("png_named_mp4", _png_named_mp4),
    Case("audio_only", _audio_only),
    Case("zero_frames", _zero_frames),
    Case("zero_frames_no_audio", _zero_frames_no_audio),
    Case("directory_as_input", _directory_input),
    Case("missing_input", _missing_input),
    Case("text_named_mkv", _text_named_mkv),
    Case("input_is_dev_zero", _input_is_dev_zero),
    Case("newline_in_file_name", _newline_in_name),
    # unusual but valid video
    Case("tiny_16x16", _tiny_16),
    Case("odd_31x17_vp9", _odd_vp9),
    Case("odd_33x19_x264_444", _odd_x264_444),
    Case("ten_bit", _ten_bit),
    Case("yuv444", _yuv444),
    Case("interlaced", _interlaced),
    Case("rotation_270", _rotation),
    Case("vfr_timestamps", _vfr),
    Case("full_range", _full_range),
    Case("single_frame", _single_frame),
    Case("aspect_16_to_1", _extreme_aspect),
    Case("gray_ffv1", _gray_ffv1),
    Case("cuts_audio_borrowed_hints", _cuts_audio_borrow),
    Case("default_output_name", _default_output_name),
    Case("unicode_spaces_symlink", _unicode_and_spaces),
    Case("h264_corrupt_packet_filled", _corrupt_h264),
    Case("h264_corrupt_packet_strict", lambda d, w: _corrupt_h264(d, w, strict=True)),
    Case("png_mov_corrupt_first_and_mid", _corrupt_png_mov),
    # bad hints
    Case("hints_is_a_file", _hints_is_a_file),
    Case("hints_dir_missing", _hints_dir_missing),
    Case("hints_dir_broken_symlink", _hints_dir_broken_link),
    Case("hint_entry_broken_symlink", _hint_entry_broken_link),
    Case("hint_entry_is_a_dir", _hint_entry_is_dir),
    Case("hint_entry_fifo", _hint_entry_fifo),
    Case("hint_entry_dev_zero", _hint_entry_dev_zero),
    Case("hint_frame_past_end", _hint_frame_past_end),
    Case("hint_frame_past_end_mkv", _hint_frame_past_end_mkv),
    Case("hint_frame_huge", _hint_frame_huge),
    Case("hint_frame_duplicate", _duplicate_frame),
    Case("hint_png_malformed", _malformed_png),
    Case("hint_png_truncated", _truncated_png),
    Case("hint_png_bomb", _bomb_scribble),
    Case("reference_bomb", _bomb_reference),
    Case("reference_missing", _reference_missing),
    Case("reference_dev_zero", _reference_dev_zero),
    Case("hints_unknown_names_ignored", _unknown_names_only),
    *(Case(f"hint_{name}", build) for name, build in HINT_CASES),
    # outputs
    Case("output_is_input", _output_is_input),
    Case("output_symlink_to_input", _output_links_to_input),
    Case("output_folder_missing", _output_folder_missing),
    Case("output_is_a_folder", _output_is_folder),
    Case("output_unknown_container", _output_unknown_container),
    Case("output_without_extension", _output_without_extension),
    Case("report_folder_missing", _report_folder_missing),
    # full disk
    Case("disk_full_in_work_folder", _disk_full_spill),
    Case("disk_full_in_encode", _disk_full_encode),
    Case("image_disk_full", _image_disk_full),
    # untrusted files
    Case("weights_evil_pth", _weights_evil_pth),
    Case("weights_pickle_named_safetensors", _weights_pickle_named_safetensors),
    Case("weights_import_evil_pth", _weights_import_evil),
    Case("weights_truncated_safetensors", _weights_truncated_safetensors),
    Case("weights_download_evil_pth", _weights_download_evil),
    Case("weights_download_wrong_sha256", _weights_download_wrong_sha),
    Case("weights_download_missing_file", _weights_download_missing),
    Case("suggest_bomb_image", _suggest_bomb),
    Case("suggest_point_outside", _suggest_point_outside),
    Case("image_bomb_input", _image_bomb_input),
    Case("image_bomb_hint", _image_bomb_hint),
]


@dataclass
class Ran:
    spec: Spec
    folder: Path
    before: dict[str, str]
    after: dict[str, str]
    result: Result


@pytest.fixture(scope="module")
def corpus(request, tmp_path_factory) -> dict[str, Ran]:
    """Build every selected case in its own folder, run them all, snapshot each folder."""
    if not hasattr(os, "fork"):
        pytest.skip("the corpus runner forks one process per case (POSIX only)")
    selected = {item.callspec.params["case_id"] for item in request.session.items
                if "case_id" in getattr(getattr(item, "callspec", None), "params", {})}
    root = tmp_path_factory.mktemp("corpus")
    weights = random_weights_file(root / "random.safetensors")
    built: dict[str, tuple[Path, Spec, dict]] = {}
    jobs = []
    for case in CASES:
        if case.id not in selected:
            continue
        folder = root / case.id
        folder.mkdir()
        spec = case.build(folder, weights)
        (folder / "tmp").mkdir()
        # The user cache (the OpenVINO copy of the network) is legitimate state outside the
        # case's folder, shared by the cases: the folder itself must hold only the outputs.
        env = {"TMPDIR": str(folder / "tmp"), "XDG_CACHE_HOME": str(root / "_cache")}
        built[case.id] = (folder, spec, snapshot(folder))
        jobs.append(Job(case.id, [str(a) for a in spec.argv], str(folder), env, spec.fsize,
                        timeout=240.0))
    results = run_cli_batch(jobs, root / "_batch")
    return {cid: Ran(spec, folder, before, snapshot(folder), results[cid])
            for cid, (folder, spec, before) in built.items()}


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        yield pytest.param(case.id, id=case.id, marks=marks)


def test_corpus_has_at_least_twenty_hostile_inputs():
    assert len({c.id for c in CASES}) == len(CASES) >= 20


@pytest.mark.slow
@pytest.mark.parametrize("case_id", list(_params()))
def test_bad_input_corpus(corpus, case_id):
    ran = corpus[case_id]
    res, spec = ran.result, ran.spec
    detail = f"exit {res.returncode}\nstderr:\n{res.stderr}\nstdout:\n{res.stdout}"
    assert not res.timed_out, "the run hung: " + detail
    assert "Traceback" not in res.stderr, detail
    if spec.marker is not None:
        assert not spec.marker.exists(), "code inside an untrusted file ran"
    added = {k: v for k, v in ran.after.items() if ran.before.get(k) != v
             and not (k.startswith("cache/") and v == "dir")}  # an empty user cache folder
    removed = sorted(set(ran.before) - set(ran.after))
    assert not removed, f"the run removed or changed {removed}"
    if isinstance(spec.expect, Fails):
        assert res.returncode == spec.expect.code, detail
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(ERROR_PREFIX), detail
        for needle in spec.expect.needles:
            assert needle in lines[0], f"{needle!r} not named: {lines[0]}"
        assert res.stdout == "", detail
        assert added == {}, f"a failed run left {sorted(added)}"
        for path in spec.must_not_exist:
            assert not path.exists() and not path.is_symlink()
        return
    ok = spec.expect
    assert res.returncode == 0, detail
    assert ERROR_PREFIX not in res.stderr, detail
    rel_out = str(ok.output.relative_to(ran.folder))
    extra = {rel_out} | ({str(ok.report[0].relative_to(ran.folder))} if ok.report else set())
    assert set(added) == extra, f"expected only the output, found {sorted(added)}"
    for needle in ok.stderr_has:
        assert needle in res.stderr, detail
    check_output(ok)


def check_output(ok: Ok) -> None:
    """The output has the reference's frame count, times and luma (and more where asked)."""
    info = media.read_video_info(ok.output)
    assert info["frames"] == ok.frames
    # Exact, up to one tick of the output's time base (Matroska stores milliseconds).
    tick = media.read_time_base(ok.output)
    got, want = media.read_times(ok.output), media.read_times(ok.reference)
    assert len(got) == len(want) and all(abs(g - t) <= tick for g, t in zip(got, want, strict=True))
    ref_luma, out_luma = media.read_luma(ok.reference), media.read_luma(ok.output)
    assert out_luma.shape == ref_luma.shape
    keep = [i for i in range(ok.frames) if i not in ok.skip_luma]
    assert media.psnr(ref_luma[keep], out_luma[keep]) >= 45.0
    for i in ok.skip_luma:  # a filled frame is a copy of a neighbour
        near = [j for j in (i - 1, i + 1) if 0 <= j < ok.frames]
        assert max(media.psnr(ref_luma[j], out_luma[i]) for j in near) >= 45.0
    if ok.rotation:
        assert media.read_rotation(ok.output) == media.read_rotation(ok.reference) != 0
    if ok.interlaced:
        assert info["interlaced"] and media.read_video_info(ok.reference)["interlaced"]
    if ok.audio:
        assert media.read_audio_packets(ok.output) == media.read_audio_packets(ok.reference)
    if ok.report is not None:
        path, want = ok.report
        got = json.loads(path.read_text())
        assert {k: got.get(k) for k in want} == want


def test_real_entry_point_refuses_an_evil_pickle(tmp_path, make_clip):
    """The same refusal through ``python -m vidcolor`` itself, not the forked runner."""
    src = make_clip("in.mp4", frames=6)
    marker = tmp_path / "PWNED"
    torch.save(_evil_state(marker), tmp_path / "evil.pth")
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "vidcolor", str(src), "-o",
                           str(tmp_path / "out.mp4"), "--weights", str(tmp_path / "evil.pth"),
                           "--device", "cpu", "--progress", "none"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "evil.pth" in proc.stderr
    assert not marker.exists() and not (tmp_path / "out.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.pth", "in.mp4"]


# --------------------------------------------------------------------------- interruptions

_RUNNER = """
import os, sys, time

def slowed(fn, seconds):
    def wrapper(*args, **kwargs):
        time.sleep(seconds)
        return fn(*args, **kwargs)
    return wrapper

# Slow one stage down so that the test can signal the process in the middle of it.
analyze_delay = float(os.environ.get("ROBUST_ANALYZE_DELAY", "0"))
encode_delay = float(os.environ.get("ROBUST_ENCODE_DELAY", "0"))
shot_delay = float(os.environ.get("ROBUST_SHOT_DELAY", "0"))
# Only public classes and functions are slowed; the run package is imported after them.
if encode_delay:
    from vidcolor.io.encode import VideoWriter
    VideoWriter.write = slowed(VideoWriter.write, encode_delay)  # per frame
if shot_delay:
    from vidcolor.models.inference import HintColorizer
    HintColorizer.predict_ab = slowed(HintColorizer.predict_ab, shot_delay)  # per batch
if analyze_delay:
    from vidcolor.io import decode
    iter_luma = decode.iter_luma
    def slow_luma(*args, **kwargs):  # per decoded frame of the analysis pass
        for item in iter_luma(*args, **kwargs):
            time.sleep(analyze_delay)
            yield item
    decode.iter_luma = slow_luma
from vidcolor import cli
cli.main(sys.argv[1:])
"""


class Cli:
    """Start the real CLI (through a runner that can slow one stage) in a subprocess."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.weights = random_weights_file(folder / "random.safetensors")
        self.runner = folder / "runner.py"
        self.runner.write_text(_RUNNER)

    def start(self, *args: str | Path, encode_delay: float = 0.0, shot_delay: float = 0.0,
              analyze_delay: float = 0.0) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE",
               "ROBUST_ENCODE_DELAY": str(encode_delay), "ROBUST_SHOT_DELAY": str(shot_delay),
               "ROBUST_ANALYZE_DELAY": str(analyze_delay)}
        cmd = [sys.executable, str(self.runner), *map(str, args), *fast(self.weights)]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=self.folder)

    def run(self, *args: str | Path) -> tuple[int, str]:
        proc = self.start(*args)
        _, err = proc.communicate(timeout=300)
        return proc.returncode, err


def wait_for(pattern: str, folder: Path, proc: subprocess.Popen, timeout: float = 180.0) -> Path:
    """The first path matching ``pattern`` in ``folder``, once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early ({proc.returncode}): "
                                 f"{proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"{pattern} never appeared in {folder}")


def decoded(path: Path) -> np.ndarray:
    """Every decoded Y, U and V sample of a video, ``(N, H * 3 / 2, W)`` uint8."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="yuv420p") for f in c.decode(video=0)])


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.slow
def test_signals_during_encode_then_sigkill_then_resume(tmp_path):
    """SIGTERM and a double Ctrl-C while the output file is being written leave no output
    and no temp file; a SIGKILL there leaves a temp file that the next ``--resume`` run
    removes; the resumed output equals an uninterrupted run, frame for frame."""
    cli = Cli(tmp_path)
    src = media.make_clip(tmp_path / "in.mp4", frames=24, cuts=(8, 16), audio=True)
    src_hash = snapshot(tmp_path)["in.mp4"]
    ref = tmp_path / "ref.mkv"
    code, err = cli.run(src, "-o", ref)
    assert code == 0, err
    out = tmp_path / "out.mkv"
    work = tmp_path / "out.mkv.vidcolor-work"
    temp_glob = ".out.vidcolor-tmp-*.mkv"

    proc = cli.start(src, "-o", out, encode_delay=0.3)
    wait_for(temp_glob, tmp_path, proc)  # the encode pass has opened its temp output
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "--resume" in one_line(err)
    assert not out.exists() and not list(tmp_path.glob(temp_glob))
    assert len(list(work.glob("*.done"))) == 3  # every shot was finished before encoding

    proc = cli.start(src, "-o", out, "--resume", encode_delay=0.3)
    wait_for(temp_glob, tmp_path, proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)  # an impatient second Ctrl-C
    _, err = proc.communicate(timeout=120)
    # 130, or death by SIGINT: the second signal may land while Python waits for worker
    # threads at exit, and Python then re-raises SIGINT on itself (a shell shows 130).
    assert proc.returncode in (130, -signal.SIGINT), err
    one_line(err)
    assert not out.exists() and not list(tmp_path.glob(temp_glob))

    proc = cli.start(src, "-o", out, "--resume", encode_delay=0.3)
    wait_for(temp_glob, tmp_path, proc)
    time.sleep(0.3)
    proc.kill()  # SIGKILL: no cleanup runs, the temp output stays behind
    proc.wait(timeout=60)
    assert not out.exists() and list(tmp_path.glob(temp_glob))

    report = tmp_path / "report.json"
    code, err = cli.run(src, "-o", out, "--resume", "--report", report)
    assert code == 0, err
    assert json.loads(report.read_text())["resumed_shots"] == 3
    np.testing.assert_array_equal(decoded(out), decoded(ref))
    assert media.read_audio_packets(out) == media.read_audio_packets(src)
    assert not list(tmp_path.glob(".*vidcolor-tmp*")) and not work.exists()
    assert snapshot(tmp_path)["in.mp4"] == src_hash


@pytest.mark.slow
def test_sigint_during_the_analysis_pass(tmp_path):
    """Ctrl-C while the first pass decodes: exit 130, one line, no output, input intact."""
    cli = Cli(tmp_path)
    src = media.make_clip(tmp_path / "in.mp4", frames=24)
    before = snapshot(tmp_path)["in.mp4"]
    out = tmp_path / "out.mp4"
    proc = cli.start(src, "-o", out, analyze_delay=0.5)
    wait_for("out.mp4.vidcolor-work/luma.u8", tmp_path, proc)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in one_line(err)
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    assert not (tmp_path / "out.mp4.vidcolor-work" / "analysis.json").exists()
    assert snapshot(tmp_path)["in.mp4"] == before


@pytest.mark.slow
def test_resume_with_changed_hints_starts_over(tmp_path):
    """Work finished under other hints is never reused: ``--resume`` warns and starts over,
    and the result equals a fresh run with the new hints."""
    cli = Cli(tmp_path)
    src = media.make_clip(tmp_path / "in.mp4", frames=24, cuts=(8, 16))
    hints = tmp_path / "hints"
    hints.mkdir()

    def hint(color: str) -> None:
        (hints / "2.json").write_text(json.dumps({"version": 1, "points": [
            {"x": 0.5, "y": 0.5, "color": color, "size": 0.3}]}))

    hint("#ff0000")
    out = tmp_path / "out.mkv"
    proc = cli.start(src, "-o", out, "--keyframe-hints", hints, shot_delay=1.5)
    wait_for("out.mkv.vidcolor-work/ab_00000.done", tmp_path, proc)
    proc.kill()
    proc.wait(timeout=60)

    hint("#0000ff")
    report = tmp_path / "report.json"
    code, err = cli.run(src, "-o", out, "--keyframe-hints", hints, "--resume",
                        "--report", report)
    assert code == 0, err
    assert "does not match" in err and "Traceback" not in err
    assert json.loads(report.read_text())["resumed_shots"] == 0
    ref = tmp_path / "ref.mkv"
    code, err = cli.run(src, "-o", ref, "--keyframe-hints", hints)
    assert code == 0, err
    np.testing.assert_array_equal(decoded(out), decoded(ref))


# --------------------------------------------------------------------------- out of memory


@pytest.mark.slow
def test_out_of_memory_mid_video_halves_the_batch_and_keeps_the_frames(make_clip, tmp_path):
    """A network that fails like CUDA out-of-memory above 2 frames, inside a whole video
    run with batch 8: the run finishes, later batches stay small, and every decoded sample
    equals a batch-1 run (``test_inference`` checks the same on ``predict_ab`` alone)."""
    from test_inference import OOMAbove
    from test_run import random_entry, random_hint_colorizer

    from vidcolor.api import Colorizer
    from vidcolor.models import weights
    from vidcolor.models.inference import HintColorizer

    src = make_clip("in.mp4", frames=14, cuts=(7,))
    ref, out = tmp_path / "ref.mkv", tmp_path / "out.mkv"
    Colorizer.from_model(random_hint_colorizer(batch_size=1), batch_size=1,
                         working_size=WORKING_SIZE).colorize_video(src, ref)
    torch.manual_seed(0)  # the same weights as random_hint_colorizer
    entry = random_entry()
    flaky = OOMAbove(weights.build_model(entry), limit=2)
    model = HintColorizer.from_model(flaky, entry, device="cpu", batch_size=8)
    report = Colorizer.from_model(model, batch_size=8,
                                  working_size=WORKING_SIZE).colorize_video(src, out)
    assert report.frames == 14
    first_ok = next(i for i, n in enumerate(flaky.sizes) if n <= 2)
    assert first_ok > 0 and max(flaky.sizes[first_ok:]) <= 2 and model.batch_size <= 2
    np.testing.assert_array_equal(decoded(out), decoded(ref))


# --------------------------------------------------------------------------- untrusted code

PACKAGE_FILES = sorted([*(REPO / "vidcolor").rglob("*.py"), *(REPO / "plugins").rglob("*.py")])
PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal",
                  "shelve"}
PICKLE_CALLS = {"load", "loads", "Unpickler", "open"}


def unsafe_calls(source: str) -> list[str]:
    """Lines of ``source`` that run a shell, unpickle, or load torch files unsafely.

    Flags: ``shell=`` anything but False; ``os.system``/``os.popen``; ``eval``/``exec``;
    ``pickle.load``-like calls and imports (pickle, dill, marshal, shelve, joblib ...);
    ``torch.load`` without ``weights_only=True``; ``numpy.load`` with ``allow_pickle``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in PICKLE_MODULES and any(
                a.name in PICKLE_CALLS for a in node.names):
            found.append(f"{node.lineno}: from {node.module} import ...")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(
            func.value, ast.Name) else ""
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        shell = kwargs.get("shell")
        if shell is not None and not (isinstance(shell, ast.Constant) and shell.value is False):
            found.append(f"{node.lineno}: shell=")
        if (owner, name) in {("os", "system"), ("os", "popen")} or (
                not owner and name in {"eval", "exec"}):
            found.append(f"{node.lineno}: {owner + '.' if owner else ''}{name}()")
        if owner in PICKLE_MODULES and name in PICKLE_CALLS:
            found.append(f"{node.lineno}: {owner}.{name}()")
        if owner == "torch" and name == "load":
            safe = kwargs.get("weights_only")
            if not (isinstance(safe, ast.Constant) and safe.value is True):
                found.append(f"{node.lineno}: torch.load without weights_only=True")
        if owner in {"np", "numpy"} and name == "load":
            allow = kwargs.get("allow_pickle")
            if allow is not None and not (isinstance(allow, ast.Constant) and not allow.value):
                found.append(f"{node.lineno}: numpy.load(allow_pickle=...)")
    return found


def test_unsafe_call_checker_finds_what_it_looks_for():
    bad = """
import subprocess, pickle, torch, os, numpy as np
from pickle import loads
subprocess.run("ls", shell=True)
subprocess.run(cmd, shell=flag)
os.system("ls")
pickle.load(f)
torch.load(p)
torch.load(p, weights_only=False)
np.load(p, allow_pickle=True)
eval("1")
"""
    assert len(unsafe_calls(bad)) == 9
    good = """
import subprocess, torch, numpy as np
subprocess.run(["ls"], shell=False)
subprocess.run(["ls"])
torch.load(p, weights_only=True, map_location="cpu")
np.load(p)
model.eval()
"""
    assert unsafe_calls(good) == []


@pytest.mark.parametrize("path", [
    pytest.param(p, id=str(p.relative_to(REPO))) for p in PACKAGE_FILES])
def test_no_shell_no_pickle_no_unsafe_torch_load(path):
    assert unsafe_calls(path.read_text()) == []
