"""The command line: routing (default command vs subcommands), exit codes, one-line errors,
the JSON-lines progress protocol, and each subcommand on tiny generated media."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import media
import numpy as np
import pytest
from click.testing import CliRunner
from test_run import REPO, WORKING_SIZE, random_weights_file

from vidcolor.cli import cli


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    return random_weights_file(tmp_path_factory.mktemp("w") / "random.safetensors")


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def fast(weights_file: Path) -> list[str]:
    return ["--weights", str(weights_file), "--device", "cpu",
            "--working-size", str(WORKING_SIZE), "--progress", "none"]


def assert_one_line_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vidcolor: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_help_lists_both_forms():
    result = run("--help")
    assert result.exit_code == 0
    assert "INPUT" in result.stdout and "shots" in result.stdout and "image" in result.stdout


def test_missing_input_is_exit_2_one_line(tmp_path):
    assert_one_line_error(run(tmp_path / "nope.mp4"), 2, "nope.mp4")


def test_not_a_video_is_exit_2_one_line(tmp_path):
    bad = media.make_random_bytes(tmp_path / "noise.mp4")
    assert_one_line_error(run(bad), 2, "noise.mp4")


def test_usage_errors_are_exit_2(make_clip):
    src = make_clip("in.mp4", frames=6)
    assert run(src, "--batch-size", "0").exit_code == 2
    assert run(src, "--device", "tpu").exit_code == 2
    assert run(src, "--no-such-option").exit_code == 2
    assert run("weights", "frobnicate").exit_code == 2


def test_existing_output_refused_and_untouched(make_clip, tmp_path, weights_file):
    src = make_clip("in.mp4", frames=6)
    dst = tmp_path / "in_color.mp4"  # the default output name
    dst.write_bytes(b"precious")
    assert_one_line_error(run(src, *fast(weights_file)), 2, "exists", "--overwrite")
    assert dst.read_bytes() == b"precious"


def test_output_equal_to_input_refused(make_clip, weights_file):
    src = make_clip("in.mp4", frames=6)
    before = src.read_bytes()
    assert_one_line_error(run(src, "-o", src, "--overwrite", *fast(weights_file)), 2, "input")
    assert src.read_bytes() == before


def test_bad_hint_file_is_exit_2_naming_file_and_field(make_clip, tmp_path, weights_file):
    src = make_clip("in.mp4", frames=6)
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "3.json").write_text('{"version": 1, "points": [{"x": 2.0, "y": 0.5, '
                                  '"color": "#ff0000"}]}')
    result = run(src, "--keyframe-hints", hints, *fast(weights_file))
    assert_one_line_error(result, 2, "3.json", "points[0].x")
    assert not (tmp_path / "in_color.mp4").exists()


def test_hint_frame_past_the_end_is_exit_2(make_clip, tmp_path, weights_file):
    src = make_clip("in.mp4", frames=6)
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "10.json").write_text('{"version": 1, "points": []}')
    assert_one_line_error(run(src, "--keyframe-hints", hints, *fast(weights_file)), 2, "10")


def test_missing_weights_is_exit_2(make_clip, tmp_path):
    src = make_clip("in.mp4", frames=6)
    result = run(src, "--weights", tmp_path / "none.safetensors", "--progress", "none")
    assert_one_line_error(result, 2, "none.safetensors")


def test_default_command_with_hints_and_jsonl_progress(make_clip, tmp_path, weights_file):
    src = make_clip("film.mp4", frames=12, audio=True)
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "000002.json").write_text(json.dumps({"version": 1, "frame": 2, "points": [
        {"x": 0.5, "y": 0.5, "color": "#7a4b2c", "size": 0.2}]}))
    args = [src, "--keyframe-hints", hints, *fast(weights_file)[:-2], "--progress", "jsonl"]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[0]["input"] == str(src)
    assert events[-1]["event"] == "done" and events[-1]["frames"] == 12
    stages = {e["stage"] for e in events if e["event"] == "progress"}
    assert stages == {"analyze", "colorize", "encode"}
    for e in events:
        if e["event"] == "progress":
            assert set(e) == {"event", "stage", "frame", "frames", "fps", "eta"}
    out = tmp_path / "film_color.mp4"
    assert Path(events[-1]["output"]) == out and out.exists()
    assert media.read_audio_packets(out) == media.read_audio_packets(src)


def test_explicit_colorize_command_and_report(make_clip, tmp_path, weights_file, monkeypatch):
    make_clip("shots.mp4", frames=8).rename(tmp_path / "shots")  # named like a subcommand
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.mkv"
    report = tmp_path / "report.json"
    result = run("colorize", "shots", "-o", out, "--no-temporal", "--report", report,
                 *fast(weights_file))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    data = json.loads(report.read_text())
    assert data["frames"] == 8 and data["shots"] == 1 and data["decode_errors_filled"] == 0


def test_jsonl_error_event(tmp_path):
    result = run(tmp_path / "missing.mp4", "--progress", "jsonl")
    assert result.exit_code == 2
    event = json.loads(result.stdout.strip().splitlines()[-1])
    assert event["event"] == "error" and event["exit_code"] == 2
    assert "missing.mp4" in event["message"]


def test_shots_subcommand(make_clip):
    src = make_clip("cuts.mp4", frames=24, cuts=(8, 16))
    result = run("shots", src, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["cuts"] == [8, 16] and data["frames"] == 24
    assert [s["start"] for s in data["shots"]] == [0, 8, 16]
    assert data["shots"][1]["timecode"] == "00:00:00.333"  # frame 8 at 24 fps
    text = run("shots", src)
    assert text.exit_code == 0 and len(text.stdout.strip().splitlines()) == 3


def test_probe_subcommand(make_clip):
    src = make_clip("in.mp4", frames=6, size=(64, 48), audio=True)
    result = run("probe", src, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["width"], data["height"]) == (64, 48)
    assert data["audio"] and data["audio"][0]["codec"] == "aac"


def test_hints_template_subcommand(make_clip, tmp_path):
    src = make_clip("in.mp4", frames=12)
    out = tmp_path / "hints"
    result = run("hints", "template", src, "-o", out, "--frames", "0,5")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "000000.json", "000000.png", "000005.json", "000005.png"]
    from vidcolor.hints.format import load_hints

    assert load_hints(out).frame_indices == (0, 5)  # templates load (RGB PNGs are ignored)
    again = run("hints", "template", src, "-o", out, "--frames", "0")
    assert again.exit_code != 0  # never overwrites a colorist's files
    past = run("hints", "template", src, "-o", tmp_path / "h2", "--frames", "99")
    assert_one_line_error(past, 2, "99")


def test_hints_template_every_shot(make_clip, tmp_path):
    src = make_clip("cuts.mp4", frames=24, cuts=(8, 16))
    out = tmp_path / "hints"
    result = run("hints", "template", src, "-o", out, "--every-shot")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.glob("*.json")) == [
        "000000.json", "000008.json", "000016.json"]


def test_image_subcommand(tmp_path, weights_file):
    import cv2

    gray = media.pattern_frame(0, (40, 30))
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), gray)
    hint = tmp_path / "h.json"
    hint.write_text('{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "red"}]}')
    out = tmp_path / "out.png"
    result = run("image", src, "-o", out, "--hints", hint, "--weights", weights_file,
                 "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    rgb = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    assert rgb.shape == (30, 40, 3)
    again = run("image", src, "-o", out, "--weights", weights_file)
    assert_one_line_error(again, 2, "exists")


def test_weights_list():
    result = run("weights", "list")
    assert result.exit_code == 0
    assert "vidcolor-siggraph17-q" in result.stdout


def test_console_entry_point_and_module(make_clip, tmp_path):
    """``python -m vidcolor`` is the same CLI, with real exit codes and stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "vidcolor", str(tmp_path / "x.mp4")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"vidcolor: error: {tmp_path / 'x.mp4'}: no such file (expected an existing video "
        "file)"]
    ok = subprocess.run([sys.executable, "-m", "vidcolor", "--version"], env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "0.1.0" in ok.stdout


def test_image_output_is_not_gray(tmp_path, weights_file):
    """Random weights still predict chroma: the image command really colors."""
    import cv2

    gray = media.pattern_frame(3, (48, 40))
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), gray)
    out = tmp_path / "out.png"
    assert run("image", src, "-o", out, "--weights", weights_file).exit_code == 0
    rgb = cv2.imread(str(out)).astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 1.0


def test_bar_progress_shows_fps_and_eta():
    import io

    from vidcolor.progress import BarProgress

    stream = io.StringIO()
    bar = BarProgress(stream)
    bar.min_interval = 0.0
    bar.update("encode", 0, 100)
    bar.update("encode", 50, 100, force=True)
    bar.done("out.mp4", 100, 4.0)
    text = stream.getvalue()
    assert "50/100" in text and "fps" in text and "ETA" in text
    assert text.rstrip().endswith("100 frames in 4.0 s (25.0 fps) -> out.mp4")


def test_progress_rate_is_unknown_until_time_has_passed(monkeypatch):
    from vidcolor import progress

    clock = iter([100.0, 100.000001, 102.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    seen = []

    class Recorder(progress.Progress):
        def on_progress(self, stage, frame, frames, fps, eta):
            seen.append((frame, fps, eta))

    rec = Recorder(min_interval=0.0)
    rec.update("colorize", 0, 100)   # the stage starts
    rec.update("colorize", 8, 100)   # a batch lands a microsecond later
    rec.update("colorize", 20, 100)  # two seconds in
    assert seen[1] == (8, 0.0, None)
    assert seen[2] == (20, 10.0, 8.0)
