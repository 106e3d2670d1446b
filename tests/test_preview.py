"""The studio's live preview (``run.preview``) gives what a render gives, and hint edits are
checked, atomic and undoable (``run.hintedit``).

The shipped weights run on tiny generated clips (64x48: the working size is the clip's own).
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import media
import numpy as np
import pytest

from vidcolor import api
from vidcolor.errors import HintError, InputError
from vidcolor.frames import ColoredFrame
from vidcolor.hints.format import color_to_ab, load_hints
from vidcolor.run.hintedit import HintFolder

RED = "#d02010"


def write_hint(folder: Path, frame: int, points: list[dict]) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{frame:06d}.json"
    path.write_text(json.dumps({"version": 1, "frame": frame, "points": points}))
    return path


def render_frames(src: Path, dst: Path, hints: Path, **options) -> list[ColoredFrame]:
    seen = []
    api.colorize_video(src, dst, hints=str(hints), device="cpu", on_frame=seen.append,
                       **options)
    return seen


def ab_of(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return lab[..., 1:]


def decoded_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture
def hinted_clip(make_clip, tmp_path):
    clip = make_clip("clip.mp4", frames=12, cuts=(7,))
    hints = tmp_path / "hints"
    write_hint(hints, 2, [{"x": 0.15, "y": 0.8, "color": RED, "size": 0.2}])
    return clip, hints


def test_preview_equals_the_render_without_smoothing(hinted_clip, tmp_path):
    clip, hints = hinted_clip
    dst = tmp_path / "out.mkv"
    rendered = render_frames(clip, dst, hints, temporal=False, lossless=True)
    session = api.open_studio(clip, hints, device="cpu", temporal=False)
    try:
        assert len(rendered) == 12
        for frame in rendered:
            preview = session.color_frame(frame.time.index)
            # The same tracking, borrowing, network and rounding: the same pixels as the
            # render's own full-size colors.
            np.testing.assert_allclose(preview, frame.upright, atol=1, rtol=0)
        # And the written file, decoded: its chroma went through 4:2:0 Y'CbCr and back,
        # which moves saturated colors by a few ab units. A render without the hint is
        # the control: it is far from the preview on the hinted shot.
        (tmp_path / "none").mkdir()
        unhinted = decoded_rgb(render_frames(clip, tmp_path / "none.mkv", tmp_path / "none",
                                             temporal=False, lossless=True) and
                               tmp_path / "none.mkv")
        for index, rgb in enumerate(decoded_rgb(dst)):
            preview = ab_of(session.color_frame(index))
            diff = np.abs(preview - ab_of(rgb))
            assert diff.mean() < 5.0 and np.percentile(diff, 90) < 10.0, index
            if index < 7:  # the hinted shot
                assert np.abs(preview - ab_of(unhinted[index])).mean() > 5 * diff.mean()
    finally:
        session.close()


def test_shot_playback_equals_the_smoothed_render(hinted_clip, tmp_path):
    clip, hints = hinted_clip
    rendered = render_frames(clip, tmp_path / "out.mp4", hints)  # temporal smoothing on
    session = api.open_studio(clip, hints, device="cpu")
    try:
        played = dict(session.play_shot(3)) | dict(session.play_shot(9))
        assert sorted(played) == list(range(12))
        for frame in rendered:
            # Same computation; float rounding of the batched network may move a code by 1.
            np.testing.assert_allclose(played[frame.time.index], frame.upright, atol=1, rtol=0)
        # The single-frame preview leaves smoothing out: it differs, but not by much.
        differs = [np.abs(ab_of(session.color_frame(i)) - ab_of(played[i])).mean()
                   for i in range(12)]
        assert max(differs) < 10.0
    finally:
        session.close()


def test_a_hint_lands_and_is_carried_through_its_shot(hinted_clip):
    clip, hints = hinted_clip
    session = api.open_studio(clip, hints, device="cpu", temporal=False)
    try:
        want = np.array(color_to_ab((0xD0, 0x20, 0x10)))
        before = ab_of(session.color_frame(5))
        for frame in (2, 5):  # the hint frame, and a frame it is carried to
            carried = session.carried_points(frame)
            assert carried, frame
            x, y = carried[0]["x"], carried[0]["y"]
            ab = ab_of(session.color_frame(frame))
            h, w = ab.shape[:2]
            got = ab[int(y * h), int(x * w)]
            assert np.linalg.norm(got - want) < 20.0, (frame, got, want)
        # Another shot: the hint does not reach it as a carried point.
        assert session.carried_points(9) == []
        # Removing the hint changes frame 5's preview back.
        (hints / "000002.json").unlink()
        assert session.carried_points(5) == []
        assert np.abs(ab_of(session.color_frame(5)) - before).max() > 5.0
    finally:
        session.close()


@pytest.mark.parametrize("rotation", [90, -90])
def test_preview_is_full_size_in_displayed_orientation(make_clip, tmp_path, rotation):
    clip = make_clip("phone.mp4", frames=4, size=(64, 32), rotation=rotation)
    hints = tmp_path / "hints"
    write_hint(hints, 1, [{"x": 0.5, "y": 0.2, "color": RED, "size": 0.3}])
    rendered = render_frames(clip, tmp_path / "out.mp4", hints, temporal=False)
    session = api.open_studio(clip, hints, device="cpu", temporal=False)
    try:
        assert session.display_size == (32, 64)
        preview = session.color_frame(1)
        assert preview.shape == (64, 32, 3)
        assert session.gray_frame(1).shape == (64, 32)
        np.testing.assert_allclose(preview, rendered[1].upright, atol=1, rtol=0)
        carried = session.carried_points(1)
        assert carried and abs(carried[0]["x"] - 0.5) < 1e-6 and abs(carried[0]["y"] - 0.2) < 1e-6
    finally:
        session.close()


def test_frames_past_the_end_are_refused(hinted_clip):
    clip, hints = hinted_clip
    session = api.open_studio(clip, hints, device="cpu")
    try:
        with pytest.raises(InputError, match="past the end"):
            session.color_frame(12)
        with pytest.raises(InputError, match="past the end"):
            session.hints.put_json(12, b'{"version": 1, "points": []}')
    finally:
        session.close()


# --------------------------------------------------------------------------- hint edits


def cli_message(tmp_path: Path, name: str, body: bytes) -> str:
    """The message the CLI gives for a hints folder holding this one file."""
    folder = tmp_path / "cli_hints"
    folder.mkdir()
    (folder / name).write_bytes(body)
    with pytest.raises(HintError) as caught:
        load_hints(folder)
    return caught.value.one_line().replace(str(folder), "<folder>")


@pytest.mark.parametrize("body", [
    b'{"version": 1, "points": [{"x": 1.5, "y": 0.5, "color": "#ff0000"}]}',
    b'{"version": 2, "points": []}',
    b'{"version": 1, "points": [{"x": 0.5, "y": 0.5}]}',
    b'{"version": 1, "frame": 4, "points": []}',
    b'{"version": 1, "points": [], "reference": "missing.png"}',
    b'not json',
])
def test_invalid_edit_gives_the_cli_message_and_changes_nothing(tmp_path, body):
    folder = tmp_path / "hints"
    edits = HintFolder(folder, lambda: 10)
    original = b'{"version": 1, "points": [{"x": 0.25, "y": 0.5, "color": "red"}]}'
    edits.put_json(3, original)
    with pytest.raises(HintError) as caught:
        edits.put_json(3, body)
    message = caught.value.one_line().replace(str(folder), "<folder>")
    assert message == cli_message(tmp_path, "000003.json", body)
    assert (folder / "000003.json").read_bytes() == original
    assert sorted(p.name for p in folder.iterdir()) == ["000003.json"]


def test_undo_and_redo_restore_files_byte_for_byte(tmp_path):
    folder = tmp_path / "hints"
    folder.mkdir()
    (folder / "3.json").write_bytes(b'{"version": 1, "points": []}')  # named another way
    edits = HintFolder(folder, lambda: None)
    first = b'{"version": 1, "points": [{"x": 0.1, "y": 0.2, "color": "#102030"}]}'
    second = b'{"version": 1, "points": [{"x": 0.3, "y": 0.4, "ab": [10, -20]}]}'
    edits.put_json(3, first)
    assert sorted(p.name for p in folder.iterdir()) == ["000003.json"]
    edits.put_json(3, second)
    layer = np.zeros((8, 8, 4), np.uint8)
    layer[2:4, 2:4] = (255, 0, 0, 255)
    ok, png = cv2.imencode(".png", cv2.cvtColor(layer, cv2.COLOR_RGBA2BGRA))
    edits.put_scribble(5, png.tobytes())
    assert load_hints(folder).get(5).scribble[3, 3].tolist() == [255, 0, 0, 255]

    def files() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    after = files()
    assert edits.undo() == [folder / "000005.png"]
    assert "000005.png" not in files()
    assert files()["000003.json"] == second
    edits.undo()
    assert files() == {"000003.json": first}
    edits.undo()
    assert files() == {"3.json": b'{"version": 1, "points": []}'}
    assert edits.undo() == [] and not edits.can_undo
    edits.redo()
    edits.redo()
    edits.redo()
    assert files() == after
    # A new change clears the redo history.
    edits.undo()
    edits.delete(3, "json")
    assert not edits.can_redo and edits.redo() == []


def test_scribble_without_alpha_or_not_png_is_refused(tmp_path):
    folder = tmp_path / "hints"
    edits = HintFolder(folder, lambda: None)
    ok, rgb_png = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(HintError, match="without alpha"):
        edits.put_scribble(1, rgb_png.tobytes())
    with pytest.raises(HintError, match="not a PNG"):
        edits.put_scribble(1, b"GIF89a....")
    assert list(folder.iterdir()) == []


def test_reference_upload_gets_a_safe_name_and_guides_the_shot(tmp_path):
    folder = tmp_path / "hints"
    edits = HintFolder(folder, lambda: None)
    ok, data = cv2.imencode(".png", np.full((16, 16, 3), (30, 60, 200), np.uint8))
    name = edits.add_reference(data.tobytes(), "image/png")
    assert name.startswith("reference_") and name.endswith(".png") and "/" not in name
    assert edits.reference_path(name) == folder / name
    edits.put_json(0, json.dumps({"version": 1, "points": [], "reference": name}).encode())
    assert load_hints(folder).get(0).reference_rgb is not None
    for bad in ("../000000.json", "reference_x.png", "/etc/passwd"):
        with pytest.raises(HintError):
            edits.reference_path(bad)
    with pytest.raises(HintError, match="expected one of"):
        edits.add_reference(b"<svg/>", "image/svg+xml")


def test_without_hints_the_preview_is_the_automatic_render(make_clip, tmp_path):
    clip = make_clip("clip.mp4", frames=12)
    (tmp_path / "none").mkdir()
    rendered = render_frames(clip, tmp_path / "out.mp4", tmp_path / "none", temporal=False)
    session = api.open_studio(clip, tmp_path / "none", device="cpu", temporal=False)
    try:
        # The same frames as the render's automatic colorization, whatever the shots are.
        for frame in rendered:
            np.testing.assert_allclose(session.color_frame(frame.time.index),
                                          frame.upright, atol=1, rtol=0)
    finally:
        session.close()


def test_a_reference_image_guides_the_preview_as_it_guides_the_render(make_clip, tmp_path):
    clip = make_clip("clip.mp4", frames=8, size=(96, 64))
    hints = tmp_path / "hints"
    edits = HintFolder(hints, lambda: 8)
    gray = media.pattern_frame(2, (96, 64))
    reference = cv2.applyColorMap(gray, cv2.COLORMAP_AUTUMN)  # the frame itself, in color
    ok, data = cv2.imencode(".png", reference)
    name = edits.add_reference(data.tobytes(), "image/png")
    session = api.open_studio(clip, hints, device="cpu", temporal=False)
    try:
        for y in (0.3, 0.6):  # the second plan reuses the reference's guidance
            edits.put_json(2, json.dumps({"version": 1, "reference": name, "points": [
                {"x": 0.2, "y": y, "color": "#2040c0", "size": 0.1}]}).encode())
            out = tmp_path / f"out_{y}.mp4"
            rendered = render_frames(clip, out, hints, temporal=False)
            assert session.plan(session.shot_at(2)).record.method.startswith("reference")
            for frame in rendered:
                np.testing.assert_allclose(session.color_frame(frame.time.index),
                                              frame.upright, atol=1, rtol=0)
    finally:
        session.close()
