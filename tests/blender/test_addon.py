"""The VidColor extension inside real Blender: install, hint frames, colorize, cancel, reload.

Runs in ``.venv-blender`` (``make test-blender``) with ``bpy`` from PyPI, against the real
vidcolor CLI of the main venv. ``bpy`` as a module has no event loop, so the tests call the
job's timer callback themselves (the ``pump`` fixture), exactly as Blender's loop would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import bpy
import pytest

ADDON = "bl_ext.user_default.vidcolor_vse"  # the extension's module once installed
LEVEL0, LEVEL_STEP = 16, 12  # make_clip.py: frame i is gray level 16 + 12 i


def addon_module(name: str):
    return sys.modules[f"{ADDON}.{name}"]


def strips_of(scene):
    """The scene's top-level strips under this Blender's name (``strips``/``sequences``)."""
    return addon_module("compat").top_strips(scene.sequence_editor)


def add_color_strip(scene, name: str, channel: int, start: int, length: int):
    try:  # 4.5+: length; 4.2: frame_end
        return strips_of(scene).new_effect(
            name=name, type="COLOR", channel=channel, frame_start=start, length=length
        )
    except TypeError:
        return strips_of(scene).new_effect(
            name=name, type="COLOR", channel=channel, frame_start=start, frame_end=start + length
        )


def add_source(scene, clip: Path, *, reverse: bool = False):
    """A trimmed movie strip: content starts at 10, hold offsets 2/1, visible 13..18."""
    src = strips_of(scene).new_movie(name="film", filepath=str(clip), channel=1, frame_start=10)
    src.animation_offset_start, src.animation_offset_end = 2, 1
    src.frame_final_start, src.frame_final_end = 13, 19
    src.use_reverse_frames = reverse
    scene.sequence_editor.active_strip = src
    return src


def rendered_level(scene, frame: int, out: Path) -> tuple[float, float, float]:
    """Render the Sequencer at ``frame``; the mean (R, G, B) of the centre, 0..255."""
    scene.frame_set(frame)
    scene.render.filepath = str(out / f"render_{frame}.png")
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(scene.render.filepath)
    try:
        return patch_mean(image, 24, 16, 16, 16)
    finally:
        bpy.data.images.remove(image)


def patch_mean(image, x0: int, y0_from_top: int, w: int, h: int) -> tuple[float, float, float]:
    width, height = image.size
    pixels = image.pixels[:]
    sums, count = [0.0, 0.0, 0.0], 0
    for y in range(y0_from_top, y0_from_top + h):
        row = height - 1 - y  # Blender images start at the bottom row
        for x in range(x0, x0 + w):
            base = (row * width + x) * image.channels
            for c in range(3):
                sums[c] += pixels[base + c]
            count += 1
    return tuple(255.0 * s / count for s in sums)


def luma(rgb: tuple[float, float, float]) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def frame_of_level(level: float) -> int:
    return round((level - LEVEL0) / LEVEL_STEP)


# ---------------------------------------------------------------- installation


def test_extension_installs_from_the_zip_and_registers(addon, plugin_zip):
    scripts = Path(bpy.utils.system_resource("SCRIPTS"))
    validator = scripts / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    done = subprocess.run(
        [sys.executable, str(validator), "validate", str(plugin_zip)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr  # Blender's strict manifest checks

    assert Path(addon.__file__).parent.name == "vidcolor_vse"
    assert ADDON in bpy.context.preferences.addons
    panel = bpy.types.VIDCOLOR_PT_hints
    assert (panel.bl_space_type, panel.bl_region_type, panel.bl_category) == (
        "SEQUENCE_EDITOR", "UI", "VidColor",
    )  # fmt: skip
    for name in ("colorize_strip", "cancel_job", "add_hint_frame", "open_hints_folder"):
        assert hasattr(bpy.ops.vidcolor, name)
    assert "vidcolor" in bpy.types.Scene.bl_rna.properties
    # Shims pick this Blender's names: 4.4 renamed Sequence/sequences to Strip/strips, 5.0
    # dropped the old names.
    compat = addon_module("compat")
    renamed = bpy.app.version >= (4, 4, 0)
    assert compat.strip_type(bpy.types) is (bpy.types.Strip if renamed else bpy.types.Sequence)
    movie_type = bpy.types.MovieStrip if renamed else bpy.types.MovieSequence
    assert "vidcolor_hints" in movie_type.bl_rna.properties
    scene = bpy.context.scene
    editor = scene.sequence_editor_create()
    assert compat.top_strips(editor) == (editor.strips if renamed else editor.sequences)
    assert compat.sequencer_scene(bpy.context) == scene


def test_ui_draws_job_progress_and_errors(scene, clip, addon, tmp_path):
    """Draw code runs against a layout that checks every call against Blender's RNA: the
    UILayout method exists, icons are valid, properties and operators exist (no GPU window
    in background mode, so the real UILayout cannot be had)."""
    panel_mod = addon_module("panel")
    functions = bpy.types.UILayout.bl_rna.functions
    icons = set(functions["label"].parameters["icon"].enum_items.keys())

    class Layout:
        def __init__(self, calls):
            self.calls, self.scale_y = calls, 1.0

        def __getattr__(self, name):
            assert name in functions, f"UILayout has no {name}()"
            params = functions[name].parameters

            def record(*args, **kwargs):
                for key in kwargs:
                    assert key in params, f"UILayout.{name}() has no argument {key}"
                if "icon" in kwargs:
                    assert kwargs["icon"] in icons, kwargs["icon"]
                if name == "prop":
                    data, prop = args
                    assert prop in data.bl_rna.properties, prop
                if name == "operator":
                    category, op = args[0].split(".")
                    assert hasattr(getattr(bpy.ops, category), op), args[0]
                self.calls.append((name, kwargs))
                return Layout(self.calls)

            return record

    src = add_source(scene, clip)
    src.vidcolor_hints = str(tmp_path)
    (tmp_path / "15.json").write_text("{}")
    scene.frame_set(23)  # (23 - 10) + 2 = movie frame 15
    status = bpy.context.window_manager.vidcolor_job
    status.running, status.has_progress, status.progress = True, True, 0.25
    status.status, status.strip_name = "colorize 3/12 · 5.0 fps", "film"

    class Fake:
        pass

    calls: list = []
    fake = Fake()
    fake.layout = Layout(calls)
    panel_mod.VIDCOLOR_PT_hints.draw(fake, bpy.context)
    assert ("progress", {"factor": 0.25, "type": "BAR", "text": status.status}) in calls
    assert any(name == "operator" and kw == {"icon": "IMAGE_DATA"} for name, kw in calls)
    labels = [kw.get("text") for name, kw in calls if name == "label"]
    assert "Hint frames: 15" in labels and "Colorizing 'film'" in labels
    assert "Playhead is outside the strip" in labels  # 23 is past the visible 13..18

    calls.clear()
    panel_mod.draw_status_bar(fake, bpy.context)
    assert any(name == "progress" for name, _ in calls)

    status.running, status.error = False, "film.mp4: not a video"
    calls.clear()
    panel_mod.VIDCOLOR_PT_hints.draw(fake, bpy.context)
    panel_mod.draw_status_bar(fake, bpy.context)
    assert ("label", {"text": "VidColor: film.mp4: not a video", "icon": "ERROR"}) in calls


# ---------------------------------------------------------------- frame arithmetic


@pytest.mark.parametrize("reverse", [False, True])
def test_movie_frame_index_matches_what_blender_shows(scene, clip, addon, tmp_path, reverse):
    strips = addon_module("strips")
    src = add_source(scene, clip, reverse=reverse)
    indices = [strips.movie_frame_at(src, frame) for frame in range(13, 19)]
    assert len(set(indices)) == 6
    for frame, index in zip(range(13, 19), indices, strict=True):
        assert frame_of_level(luma(rendered_level(scene, frame, tmp_path))) == index
    with pytest.raises(strips.StripError, match="outside the strip"):
        strips.movie_frame_at(src, 19)


# ---------------------------------------------------------------- hint frames


def test_add_hint_frame_exports_the_movie_frame_under_the_playhead(
    scene, clip, addon, prefs, real_cli, tmp_path
):
    prefs.cli_path = str(real_cli)
    src = add_source(scene, clip)
    hints = tmp_path / "hints"
    src.vidcolor_hints = str(hints)
    scene.frame_set(15)  # (15 - 10) + hold offset 2 = movie frame 7
    assert bpy.ops.vidcolor.add_hint_frame() == {"FINISHED"}

    files = addon_module("commands").hint_files(hints, 7)
    assert sorted(p.suffix for p in files) == [".json", ".png"]
    data = json.loads(next(p for p in files if p.suffix == ".json").read_text())
    assert data["version"] == 1 and data["points"] == [] and data.get("frame", 7) == 7
    image = bpy.data.images.load(str(next(p for p in files if p.suffix == ".png")))
    assert tuple(image.size) == (64, 48)
    assert abs(luma(patch_mean(image, 24, 16, 16, 16)) - (LEVEL0 + 7 * LEVEL_STEP)) < 4
    bpy.data.images.remove(image)

    before = {p: p.read_bytes() for p in files}
    with pytest.raises(RuntimeError, match="frame 7 already has hint files"):
        bpy.ops.vidcolor.add_hint_frame()
    assert {p: p.read_bytes() for p in files} == before

    scene.frame_set(30)
    with pytest.raises(RuntimeError, match="outside the strip"):
        bpy.ops.vidcolor.add_hint_frame()


def test_add_hint_frame_picks_a_default_folder_when_the_strip_has_none(
    scene, clip, addon, prefs, fake_cli
):
    prefs.cli_path = str(fake_cli)
    src = add_source(scene, clip)
    assert src.vidcolor_hints == ""
    scene.frame_set(13)
    assert bpy.ops.vidcolor.add_hint_frame() == {"FINISHED"}
    expected = clip.parent / "clip_hints"  # unsaved .blend: beside the movie
    assert Path(src.vidcolor_hints) == expected
    assert sorted(p.name for p in expected.iterdir()) == ["5.json", "5.png"]


# ---------------------------------------------------------------- colorize


def test_colorize_adds_a_lined_up_strip_on_a_free_channel_and_survives_reload(
    scene, clip, addon, prefs, real_cli, capture_watchers, pump, tmp_path
):
    prefs.cli_path = str(real_cli)
    src = add_source(scene, clip)
    try:
        sound = strips_of(scene).new_sound(
            name="film audio", filepath=str(clip), channel=2, frame_start=10
        )
    except RuntimeError as exc:  # the bpy 4.2 wheel has no audio; 4.5+ (make test) has
        assert "Audaspace" in str(exc) and bpy.app.version < (4, 5, 0)
        sound = add_color_strip(scene, "no audio here", channel=2, start=10, length=12)
    # Channel 3 is taken over the source's full content (10..21) but free over its visible
    # range (13..18): the result belongs there.
    blocker = add_color_strip(scene, "blocker", channel=3, start=20, length=5)
    hints = tmp_path / "hints"
    hints.mkdir()
    point = {"x": 0.5, "y": 0.6, "color": "#c03020", "size": 0.3}
    (hints / "7.json").write_text(json.dumps({"version": 1, "frame": 7, "points": [point]}))
    src.vidcolor_hints = str(hints)
    out = tmp_path / "out"
    settings = scene.vidcolor
    settings.output_dir, settings.device, settings.quality = str(out), "cpu", "DRAFT"

    def sound_state():
        media = sound.sound.filepath if sound.type == "SOUND" else None
        return (sound.channel, sound.frame_final_start, sound.frame_final_end, media)

    sound_before = sound_state()

    assert bpy.ops.vidcolor.colorize_strip() == {"FINISHED"}
    status = bpy.context.window_manager.vidcolor_job
    assert status.running and status.status == "Starting..."
    (watcher,) = capture_watchers
    assert bpy.app.timers.is_registered(watcher.callback)
    assert not bpy.ops.vidcolor.colorize_strip.poll()  # one job at a time

    pump(watcher)
    assert not status.running
    assert status.error == "", status.error + "\n" + watcher.job.stderr_tail
    result = strips_of(scene)[watcher.result_strip_name]
    assert result.type == "MOVIE"
    assert result.channel == 3
    for key in ("frame_start", "frame_final_start", "frame_final_end", "frame_final_duration",
                "animation_offset_start", "animation_offset_end"):  # fmt: skip
        assert getattr(result, key) == getattr(src, key), key
    output = Path(result.filepath)
    assert output == out / "clip_film_color.mp4" and output.is_file()
    assert sorted(p.name for p in out.iterdir()) == [output.name]  # no staging/work leftovers
    assert status.output == str(output)
    assert sound_state() == sound_before
    assert (blocker.channel, blocker.frame_final_start) == (3, 20)

    # Frame for frame: what the new strip shows at each timeline frame has the lightness of
    # the source frame shown there (levels differ by 12 between neighbouring frames).
    for frame in range(13, 19):
        expected = LEVEL0 + LEVEL_STEP * addon_module("strips").movie_frame_at(src, frame)
        assert abs(luma(rendered_level(scene, frame, tmp_path)) - expected) < 5, frame

    blend, scene_name = tmp_path / "edit.blend", scene.name
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert hasattr(bpy.types, "VIDCOLOR_PT_hints")  # still registered after a file load
    reloaded = strips_of(bpy.data.scenes[scene_name])
    again = reloaded[watcher.result_strip_name]
    assert (again.channel, again.frame_final_start, again.frame_final_end) == (3, 13, 19)
    assert Path(bpy.path.abspath(again.filepath)) == output  # Blender saves paths relative
    assert Path(bpy.path.abspath(reloaded["film"].vidcolor_hints)).resolve() == hints
    assert bpy.data.scenes[scene_name].vidcolor.quality == "DRAFT"


def test_cancel_stops_the_cli_and_leaves_nothing(
    scene, clip, addon, prefs, real_cli, capture_watchers, pump, tmp_path
):
    prefs.cli_path = str(real_cli)
    add_source(scene, clip)
    out = tmp_path / "out"
    scene.vidcolor.output_dir = str(out)
    count = len(strips_of(scene))

    assert bpy.ops.vidcolor.colorize_strip() == {"FINISHED"}
    (watcher,) = capture_watchers
    watcher.callback()
    assert bpy.ops.vidcolor.cancel_job() == {"FINISHED"}
    pump(watcher, timeout=60)

    status = bpy.context.window_manager.vidcolor_job
    assert not status.running and status.error == ""
    assert status.status.startswith("Cancelled")
    assert watcher.job.state.value == "cancelled"
    assert watcher.job.returncode != 0
    assert len(strips_of(scene)) == count
    assert list(out.iterdir()) == []


def test_cli_failure_is_shown_and_adds_nothing(
    scene, clip, addon, prefs, fake_cli, capture_watchers, pump, monkeypatch, tmp_path
):
    prefs.cli_path = str(fake_cli)
    monkeypatch.setenv("FAKE_VIDCOLOR_MODE", "error")
    add_source(scene, clip)
    scene.vidcolor.output_dir = str(tmp_path / "out")
    count = len(strips_of(scene))
    assert bpy.ops.vidcolor.colorize_strip() == {"FINISHED"}
    (watcher,) = capture_watchers
    pump(watcher, timeout=60)
    status = bpy.context.window_manager.vidcolor_job
    assert not status.running
    assert status.error.endswith("not a video (found no video stream)")
    assert len(strips_of(scene)) == count
    assert list((tmp_path / "out").iterdir()) == []


def test_bad_settings_are_refused_before_anything_runs(
    scene, clip, addon, prefs, fake_cli, capture_watchers, tmp_path
):
    src = add_source(scene, clip)
    status = bpy.context.window_manager.vidcolor_job

    prefs.cli_path = str(tmp_path / "nowhere" / "vidcolor")
    with pytest.raises(RuntimeError, match="is not an executable file"):
        bpy.ops.vidcolor.colorize_strip()
    assert "is not an executable file" in status.error

    prefs.cli_path = str(fake_cli)
    src.vidcolor_hints = str(tmp_path / "missing-hints")
    with pytest.raises(RuntimeError, match="hints folder .* does not exist"):
        bpy.ops.vidcolor.colorize_strip()

    src.vidcolor_hints = ""
    scene.sequence_editor.active_strip = add_color_strip(scene, "color", 4, 1, 5)
    assert not bpy.ops.vidcolor.colorize_strip.poll()
    assert capture_watchers == [] and not status.running


def test_source_strip_deleted_during_the_job_keeps_the_file_and_says_where(
    scene, clip, addon, prefs, fake_cli, capture_watchers, pump, tmp_path
):
    prefs.cli_path = str(fake_cli)
    src = add_source(scene, clip)
    scene.vidcolor.output_dir = str(tmp_path / "out")
    assert bpy.ops.vidcolor.colorize_strip() == {"FINISHED"}
    (watcher,) = capture_watchers
    strips_of(scene).remove(src)
    pump(watcher, timeout=60)
    status = bpy.context.window_manager.vidcolor_job
    output = tmp_path / "out" / "clip_film_color.mp4"
    assert "'film' of scene" in status.error and "no longer exists" in status.error
    assert str(output) in status.error and output.is_file()
    assert len(strips_of(scene)) == 0


def test_an_unexpected_error_in_the_timer_cancels_the_job(
    scene, clip, addon, prefs, fake_cli, capture_watchers, monkeypatch, tmp_path
):
    prefs.cli_path = str(fake_cli)
    monkeypatch.setenv("FAKE_VIDCOLOR_MODE", "slow")
    add_source(scene, clip)
    scene.vidcolor.output_dir = str(tmp_path / "out")
    assert bpy.ops.vidcolor.colorize_strip() == {"FINISHED"}
    (watcher,) = capture_watchers

    def broken():
        raise ValueError("boom")

    monkeypatch.setattr(watcher.job, "poll", broken)
    assert watcher.callback() is None  # the timer stops instead of raising
    status = bpy.context.window_manager.vidcolor_job
    assert not status.running and "internal error" in status.error and "boom" in status.error
    monkeypatch.undo()
    assert watcher.job.wait(timeout=30).value == "cancelled"
    assert list((tmp_path / "out").iterdir()) == []
