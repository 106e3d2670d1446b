"""The Blender add-on's job runner and CLI commands, tested without bpy.

``plugins/blender/vidcolor_vse/runner.py`` and ``commands.py`` are plain Python; they run here
against a fake CLI that speaks the progress protocol (``tests/blender/fake_vidcolor.py``),
which can misbehave on demand, and against the real CLI (``test_real_cli_*``).
"""

from __future__ import annotations

import importlib.util
import json
import re
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins" / "blender"))

from vidcolor_vse import commands, runner  # noqa: E402
from vidcolor_vse.runner import CliJob, JobError, JobState  # noqa: E402

FAKE = ROOT / "tests" / "blender" / "fake_vidcolor.py"
REAL_CLI = Path(sys.executable).parent / "vidcolor"  # the console script of this venv


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    """The fake CLI as an executable named ``vidcolor`` that runs under this interpreter."""
    program = tmp_path / "bin" / "vidcolor"
    program.parent.mkdir()
    source = FAKE.read_text(encoding="utf-8").split("\n", 1)[1]
    program.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def make_job(fake_cli: Path, out_dir: Path, mode: str, **kwargs) -> CliJob:
    env = runner.child_env()
    env["FAKE_VIDCOLOR_MODE"] = mode
    command = commands.colorize_command(str(fake_cli), "film.mp4", None)
    return CliJob(command, out_dir / "film_color.mp4", env=env, **kwargs)


def wait_for(predicate, job: CliJob, timeout: float = 20.0) -> list[dict]:
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while not predicate(events):
        if time.monotonic() > deadline:
            raise TimeoutError(f"state {job.state}, events {events[-3:]}")
        events += job.poll()
        time.sleep(0.02)
    return events


def test_successful_run_reports_progress_in_order_and_moves_output(fake_cli, tmp_path):
    out = tmp_path / "out"
    job = make_job(fake_cli, out, "ok").start()
    fractions: list[float] = []
    events: list[dict] = []
    while not job.finished:
        events += job.poll()
        if job.fraction is not None:
            fractions.append(job.fraction)
        time.sleep(0.01)
    assert job.state is JobState.DONE, job.error
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert kinds.count("progress") == 18
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert job.total_frames == 6 and job.result["frames"] == 6
    assert job.returncode == 0
    # Only the finished file is left: no staging folder, temp file or work folder.
    assert sorted(p.name for p in out.iterdir()) == ["film_color.mp4"]
    assert (out / "film_color.mp4").read_bytes() == b"colorized movie"
    assert job.status_text().startswith("Done in")


def test_child_gets_staged_output_and_the_command_as_given(fake_cli, tmp_path):
    log = tmp_path / "argv.jsonl"
    job = make_job(fake_cli, tmp_path / "out", "ok")
    job._env["FAKE_VIDCOLOR_LOG"] = str(log)
    assert job.start().wait(timeout=20) is JobState.DONE
    argv = json.loads(log.read_text().splitlines()[0])
    assert argv[:3] == ["film.mp4", "--progress", "jsonl"]
    assert "--overwrite" in argv and argv[argv.index("--device") + 1] == "auto"
    staged = Path(argv[argv.index("-o") + 1])
    assert staged.name == "film_color.mp4"
    assert staged.parent.parent == tmp_path / "out"
    assert staged.parent.name.startswith(".vidcolor-job-")
    assert not staged.parent.exists()


def test_log_lines_and_broken_json_on_stdout_are_ignored(fake_cli, tmp_path):
    job = make_job(fake_cli, tmp_path, "noisy").start()
    events = wait_for(lambda ev: job.finished, job)
    assert job.state is JobState.DONE
    assert all(e["event"] in {"start", "progress", "done"} for e in events)
    assert len(events) == 1 + 18 + 1


def test_error_event_fails_the_job_with_its_message_and_leaves_nothing(fake_cli, tmp_path):
    out = tmp_path / "out"
    job = make_job(fake_cli, out, "error").start()
    assert job.wait(timeout=20) is JobState.FAILED
    assert job.error == "film.mp4: not a video (found no video stream)"
    assert job.returncode == 2
    assert list(out.iterdir()) == []
    assert job.status_text() == f"Failed: {job.error}"


def test_crash_without_event_reports_last_stderr_line_and_cleans_partial_files(fake_cli, tmp_path):
    out = tmp_path / "out"
    job = make_job(fake_cli, out, "crash").start()
    assert job.wait(timeout=20) is JobState.FAILED
    assert job.error == "RuntimeError: fake crash in the pipeline"
    assert "Traceback" in job.stderr_tail
    assert list(out.iterdir()) == []


def test_exit_zero_without_done_event_is_a_failure(fake_cli, tmp_path):
    job = make_job(fake_cli, tmp_path, "silent").start()
    assert job.wait(timeout=20) is JobState.FAILED
    assert "without a 'done' event" in job.error


def test_failed_run_keeps_an_existing_output_and_success_replaces_it(fake_cli, tmp_path):
    previous = tmp_path / "film_color.mp4"
    previous.write_bytes(b"previous result")
    assert make_job(fake_cli, tmp_path, "error").start().wait(timeout=20) is JobState.FAILED
    assert previous.read_bytes() == b"previous result"
    assert make_job(fake_cli, tmp_path, "ok").start().wait(timeout=20) is JobState.DONE
    assert previous.read_bytes() == b"colorized movie"


def test_cancel_terminates_the_child_and_removes_partial_output(fake_cli, tmp_path):
    out = tmp_path / "out"
    job = make_job(fake_cli, out, "slow").start()
    wait_for(lambda ev: any(e["event"] == "progress" for e in ev), job)
    # The child has written a partial file and a work folder by now.
    staging = next(out.iterdir())
    assert {p.name for p in staging.iterdir()} >= {".film_color.mp4.partial"}
    started = time.monotonic()
    job.cancel()
    assert job.status_text() == "Cancelling..."
    assert job.wait(timeout=10) is JobState.CANCELLED
    assert time.monotonic() - started < 5
    assert job.returncode == 143
    assert list(out.iterdir()) == []


def test_cancel_kills_a_child_that_ignores_terminate(fake_cli, tmp_path):
    job = make_job(fake_cli, tmp_path / "out", "stubborn", kill_timeout=0.5).start()
    wait_for(lambda ev: any(e["event"] == "progress" for e in ev), job)
    started = time.monotonic()
    job.cancel()
    assert job.wait(timeout=10) is JobState.CANCELLED
    assert 0.4 < time.monotonic() - started < 5
    assert job.returncode == -9
    assert list((tmp_path / "out").iterdir()) == []


def test_poll_never_blocks_while_the_child_is_busy(fake_cli, tmp_path):
    job = make_job(fake_cli, tmp_path, "slow").start()
    try:
        # The child prints a line every 0.2 s: a poll that waited for lines would need
        # 10 s for 50 calls; a non-blocking one needs microseconds (1 s allows a busy CI).
        started = time.perf_counter()
        for _ in range(50):
            job.poll()
        assert time.perf_counter() - started < 1.0
        assert job.state is JobState.RUNNING
    finally:
        job.cancel()
        job.wait(timeout=10)


def test_a_bug_in_the_reader_thread_fails_the_job_not_hangs(fake_cli, tmp_path, monkeypatch):
    def broken(*args):
        raise KeyError("oops")

    job = make_job(fake_cli, tmp_path / "out", "ok")
    monkeypatch.setattr(job, "_finish", broken)
    assert job.start().wait(timeout=20) is JobState.FAILED
    assert job.error == "job runner error: KeyError('oops')"
    assert list((tmp_path / "out").iterdir()) == []


def test_missing_program_raises_at_start_and_leaves_no_folder(tmp_path):
    job = CliJob([str(tmp_path / "no-such-vidcolor"), "film.mp4"], tmp_path / "out" / "x.mp4")
    with pytest.raises(JobError, match="no-such-vidcolor: cannot run it"):
        job.start()
    assert list((tmp_path / "out").iterdir()) == []


def test_progress_fraction_spans_stages():
    analyze = runner.Progress("analyze", 5, 10, 1.0, None)
    colorize = runner.Progress("colorize", 0, 10, 1.0, None)
    encode = runner.Progress("encode", 10, 10, 1.0, None)
    assert analyze.fraction < colorize.fraction < encode.fraction == 1.0
    assert runner.Progress("colorize", 3, None, 1.0, None).fraction is None


def test_child_env_drops_parent_python_settings():
    env = runner.child_env({"PYTHONPATH": "/blender/lib", "PYTHONHOME": "/b", "PATH": "/usr/bin"})
    assert env == {"PATH": "/usr/bin", "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}


# ---------------------------------------------------------------- commands


def test_colorize_command_is_an_argument_list_with_every_option():
    command = commands.colorize_command(
        "/opt/vc", "/m/my film.mp4", "/h/hints dir", device="cpu", quality="BEST",
        temporal=False, weights="mine.safetensors",
    )  # fmt: skip
    assert command == [
        "/opt/vc", "/m/my film.mp4", "--keyframe-hints", "/h/hints dir",
        "--progress", "jsonl", "--device", "cpu", "--crf", "10", "--no-temporal",
        "--overwrite", "--weights", "mine.safetensors",
    ]  # fmt: skip
    assert "--keyframe-hints" not in commands.colorize_command("vc", "a.mp4", None)
    with pytest.raises(JobError, match="device: got 'tpu'"):
        commands.colorize_command("vc", "a.mp4", None, device="tpu")


def test_find_cli_prefers_configured_path_then_path(fake_cli, tmp_path, monkeypatch):
    assert commands.find_cli(str(fake_cli)) == str(fake_cli)
    with pytest.raises(JobError, match="is not an executable file"):
        commands.find_cli(str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(fake_cli.parent))
    assert commands.find_cli("") == str(fake_cli)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(JobError, match="not found on PATH"):
        commands.find_cli("")


def test_output_path_keeps_strips_apart_and_uses_a_writable_container():
    named = commands.output_path("/m/film.mp4", "/o", "film.mp4")
    assert named == Path("/o/film_film.mp4_color.mp4")
    assert commands.output_path("/m/film.mp4", "/o", "film") == Path("/o/film_color.mp4")
    assert commands.output_path("/m/old.avi", "/o", "Shot 1/a") == Path("/o/old_Shot_1_a_color.mkv")


def test_hint_files_match_any_zero_padding(tmp_path):
    for name in ("12.json", "000012.png", "120.json", "12.txt", "x12.png"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in commands.hint_files(tmp_path, 12)] == ["000012.png", "12.json"]
    assert commands.hint_files(tmp_path / "missing", 12) == []


def test_export_hint_frame_writes_png_and_json_and_never_overwrites(fake_cli, tmp_path):
    hints = tmp_path / "hints"
    written = commands.export_hint_frame(str(fake_cli), "film.mp4", hints, 7)
    assert [p.name for p in written] == ["7.json", "7.png"]
    assert json.loads((hints / "7.json").read_text()) == {"version": 1, "frame": 7, "points": []}
    (hints / "7.json").write_text('{"version": 1, "points": [{"x": 0.5}]}')
    with pytest.raises(JobError, match="frame 7 already has hint files"):
        commands.export_hint_frame(str(fake_cli), "film.mp4", hints, 7)
    assert "0.5" in (hints / "7.json").read_text()


def test_export_hint_frame_reports_the_cli_error(tmp_path):
    failing = tmp_path / "vidcolor"
    failing.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('vidcolor: bad input')\n")
    failing.chmod(0o755)
    with pytest.raises(JobError, match="hints template: vidcolor: bad input"):
        commands.export_hint_frame(str(failing), "film.mp4", tmp_path / "h", 0)


# ---------------------------------------------------------------- packaging


def test_plugin_zip_has_the_manifest_at_its_root_and_no_bytecode(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "plugins" / "blender" / "build.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    archive = Path(done.stdout.strip())
    assert archive.parent == tmp_path and archive.name.startswith("vidcolor_vse-")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        manifest = zf.read("blender_manifest.toml").decode()
    assert "__init__.py" in names and "runner.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert 'license = ["SPDX:GPL-3.0-or-later"]' in manifest
    assert f'version = "{archive.stem.split("-", 1)[1]}"' in manifest


def test_no_module_of_the_addon_uses_a_shell_or_sequencer_operators():
    for path in (ROOT / "plugins" / "blender" / "vidcolor_vse").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "shell=True" not in text, path
        assert not re.search(r"ops\.sequencer\.\w+\s*\(", text), path
        assert "import torch" not in text, path


def test_runner_and_commands_import_without_bpy():
    code = (
        "import sys; sys.path.insert(0, 'plugins/blender');"
        "import vidcolor_vse.runner, vidcolor_vse.commands;"
        "assert 'bpy' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ---------------------------------------------------------------- the real CLI


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location(
        "make_weights", ROOT / "tests" / "blender" / "make_weights.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_random_weights(tmp_path_factory.mktemp("w") / "random.safetensors")


def real_job(source: Path, output: Path, weights: Path, hints: Path | None = None) -> CliJob:
    assert REAL_CLI.is_file(), f"{REAL_CLI}: missing; run `make venv`"
    command = commands.colorize_command(
        str(REAL_CLI), source, hints, device="cpu", quality="DRAFT", weights=str(weights)
    )
    return CliJob(command, output)


@pytest.mark.slow
def test_real_cli_run_speaks_the_protocol_and_leaves_only_the_output(
    clip_with_audio, random_weights, tmp_path
):
    import av

    hints = tmp_path / "hints"
    hints.mkdir()
    point = {"x": 0.5, "y": 0.5, "color": "#2060c0", "size": 0.2}
    (hints / "3.json").write_text(json.dumps({"version": 1, "points": [point]}))
    out = tmp_path / "out"
    job = real_job(clip_with_audio, out / "clip_color.mp4", random_weights, hints).start()
    events: list[dict] = []
    fractions: list[float] = []
    while not job.finished:
        events += job.poll()
        if job.fraction is not None:
            fractions.append(job.fraction)
        time.sleep(0.05)
    assert job.state is JobState.DONE, f"{job.error}\n{job.stderr_tail}"
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "progress" in kinds
    assert events[0]["frames"] == 12 and job.result["frames"] == 12
    stages = [e["stage"] for e in events if e["event"] == "progress"]
    assert set(stages) <= set(runner.STAGE_SPANS) and stages[-1] == "encode"
    assert fractions == sorted(fractions) and job.fraction == 1.0
    assert sorted(p.name for p in out.iterdir()) == ["clip_color.mp4"]
    with av.open(str(out / "clip_color.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 12


@pytest.mark.slow
def test_real_cli_cancel_mid_run_leaves_nothing(clip, random_weights, tmp_path):
    out = tmp_path / "out"
    job = real_job(clip, out / "clip_color.mp4", random_weights).start()
    wait_for(lambda ev: any(e["event"] == "start" for e in ev), job, timeout=120)
    job.cancel()
    assert job.wait(timeout=60) is JobState.CANCELLED
    assert job.returncode != 0
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_real_cli_error_reaches_the_job(tmp_path, random_weights):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a movie")
    job = real_job(bogus, tmp_path / "out" / "notes_color.mp4", random_weights).start()
    assert job.wait(timeout=120) is JobState.FAILED
    assert job.returncode == 2
    assert "notes.mp4" in job.error
    assert list((tmp_path / "out").iterdir()) == []
