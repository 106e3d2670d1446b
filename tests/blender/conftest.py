"""Fixtures for the add-on tests that run inside real Blender (``bpy`` from PyPI).

These tests run in ``.venv-blender`` (``make test-blender``); the main venv has no ``bpy``
and does not collect them (``tests/test_blender_jobs.py`` covers the runner there). Paths
come from the environment the Makefile sets, with defaults for a plain checkout:

- ``VIDCOLOR_CLI``: the real vidcolor program (default ``.venv/bin/vidcolor``);
- ``VIDCOLOR_MAIN_PYTHON``: the main venv's Python, which writes test clips with PyAV
  (default ``.venv/bin/python``);
- ``VIDCOLOR_PLUGIN_ZIP``: the built extension (default: built here with ``build.py``);
- ``VIDCOLOR_TEST_WEIGHTS``: weights for the CLI (default: seeded random weights written by
  ``make_weights.py``; these tests check plumbing, not color quality).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDON = "bl_ext.user_default.vidcolor_vse"

if importlib.util.find_spec("bpy") is None:
    collect_ignore_glob = ["test_*.py"]
else:
    # Blender reads its user folders (extensions, preferences) from here; must be set before
    # bpy is imported, so the tests never touch the real user's Blender configuration.
    USER_RESOURCES = tempfile.mkdtemp(prefix="vidcolor-blender-user-")
    os.environ["BLENDER_USER_RESOURCES"] = USER_RESOURCES


def _path_from_env(name: str, default: Path) -> Path:
    return Path(os.environ.get(name) or default).absolute()


@pytest.fixture(scope="session")
def real_cli() -> Path:
    """The real vidcolor CLI (must exist: these tests are never skipped)."""
    cli = _path_from_env("VIDCOLOR_CLI", ROOT / ".venv" / "bin" / "vidcolor")
    if not (cli.is_file() and os.access(cli, os.X_OK)):
        pytest.fail(f"VIDCOLOR_CLI: {cli} is not an executable; run `make venv` first")
    return cli


@pytest.fixture(scope="session")
def fake_cli(tmp_path_factory) -> Path:
    """``tests/blender/fake_vidcolor.py`` as an executable ``vidcolor`` for this Python."""
    program = tmp_path_factory.mktemp("fake") / "vidcolor"
    body = (ROOT / "tests" / "blender" / "fake_vidcolor.py").read_text().split("\n", 1)[1]
    program.write_text(f"#!{sys.executable}\n{body}")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory) -> Path:
    """The installable extension zip (``make plugin``'s, or built now)."""
    given = os.environ.get("VIDCOLOR_PLUGIN_ZIP")
    if given:
        return Path(given).absolute()
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, str(ROOT / "plugins" / "blender" / "build.py"), "--out", str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(done.stdout.strip())


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A 12-frame 64x48 24 fps H.264 mp4 with AAC audio; frame i is gray level 16 + 12 i."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    python = _path_from_env("VIDCOLOR_MAIN_PYTHON", ROOT / ".venv" / "bin" / "python")
    subprocess.run(
        [str(python), str(ROOT / "tests" / "blender" / "make_clip.py"), str(path), "--audio"],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def test_weights(tmp_path_factory) -> str:
    """A weights file for the CLI runs: small seeded random weights (see make_weights.py)."""
    given = os.environ.get("VIDCOLOR_TEST_WEIGHTS")
    if given:
        return given
    path = tmp_path_factory.mktemp("weights") / "random.safetensors"
    python = _path_from_env("VIDCOLOR_MAIN_PYTHON", ROOT / ".venv" / "bin" / "python")
    subprocess.run(
        [str(python), str(ROOT / "tests" / "blender" / "make_weights.py"), str(path)], check=True
    )
    return str(path)


@pytest.fixture(scope="session")
def addon(plugin_zip):
    """The extension, installed from its zip and enabled; disabled (unregistered) at the end.

    Unregistering matters: bpy hangs at interpreter exit with add-on timers still around.
    """
    import bpy

    result = bpy.ops.extensions.package_install_files(
        filepath=str(plugin_zip), repo="user_default", enable_on_install=True
    )
    assert result == {"FINISHED"}
    module = sys.modules[ADDON]
    yield module
    bpy.ops.preferences.addon_disable(module=ADDON)
    shutil.rmtree(USER_RESOURCES, ignore_errors=True)


@pytest.fixture
def scene(addon, test_weights):
    """A fresh scene shown in the window: 24 fps, 64x48 render, a sequence editor."""
    import bpy

    new = bpy.data.scenes.new("vidcolor-test")
    new.render.fps, new.render.fps_base = 24, 1.0
    new.render.resolution_x, new.render.resolution_y = 64, 48
    new.render.resolution_percentage = 100
    new.render.image_settings.file_format = "PNG"
    new.view_settings.view_transform = "Standard"
    new.sequence_editor_create()
    new.vidcolor.weights = test_weights
    bpy.context.window.scene = new
    status = bpy.context.window_manager.vidcolor_job
    for key in ("running", "cancel_requested"):
        setattr(status, key, False)
    for key in ("status", "error", "token", "output"):
        setattr(status, key, "")
    yield new


@pytest.fixture
def prefs(addon):
    """The add-on preferences (restored after the test)."""
    import bpy

    preferences = bpy.context.preferences.addons[ADDON].preferences
    saved = preferences.cli_path
    yield preferences
    preferences.cli_path = saved


@pytest.fixture
def capture_watchers(addon, monkeypatch):
    """Spy on ``watch.schedule``: returns the list of scheduled watchers.

    ``bpy`` as a module has no event loop, so timers never fire by themselves; tests pump
    the same callback the timer holds (see :func:`pump`).
    """
    watch = sys.modules[f"{ADDON}.watch"]
    seen = []
    real = watch.schedule

    def spy(watcher):
        seen.append(watcher)
        real(watcher)

    monkeypatch.setattr(watch, "schedule", spy)
    yield seen
    import bpy

    for watcher in seen:
        if bpy.app.timers.is_registered(watcher.callback):
            bpy.app.timers.unregister(watcher.callback)


@pytest.fixture
def pump():
    """``pump(watcher, timeout)``: call the watcher's timer callback, as Blender's event loop
    would, until it returns None; returns the seconds it took."""

    def run(watcher, timeout: float = 300.0) -> float:
        started = time.monotonic()
        while True:
            delay = watcher.callback()
            if delay is None:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                watcher.job.cancel()
                watcher.job.wait(timeout=30)
                raise TimeoutError(f"still running after {timeout} s: {watcher.job.status_text()}")
            time.sleep(min(delay, 0.05))

    return run
