"""Hints on rotated video: written on the displayed picture, they land there in the output.

OpenCV's reader applies the display rotation (as players do), so it is the independent
oracle for "what the person saw" in the end-to-end test.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidcolor.hints.format import FrameHints, HintPoint
from vidcolor.hints.orientation import (
    displayed_image,
    quarter_turns,
    stored_point,
    to_stored_orientation,
)
from vidcolor.hints.rasterize import rasterize_hints

STORED_H, STORED_W = 30, 50


@pytest.mark.parametrize("rotation,turns", [(0, 0), (90, 1), (180, 2), (-90, 3), (270, 3),
                                            (-180, 2), (89.6, 1)])
def test_quarter_turns(rotation, turns):
    assert quarter_turns(rotation) == turns


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_point_hint_lands_on_the_same_pixel_after_the_turn(turns):
    disp_h, disp_w = displayed_image(np.zeros((STORED_H, STORED_W)), turns).shape
    rng = np.random.default_rng(turns)
    for _ in range(20):
        row, col = int(rng.integers(disp_h)), int(rng.integers(disp_w))
        side = int(rng.choice([1, 3, 5]))  # odd: symmetric about a pixel centre
        point = HintPoint((col + 0.5) / disp_w, (row + 0.5) / disp_h, (30.0, -20.0),
                          size=side / min(disp_h, disp_w))
        shown = FrameHints(frame=0, points=(point,))
        _, mask_displayed = rasterize_hints(shown, disp_h, disp_w)
        _, mask_stored = rasterize_hints(to_stored_orientation(shown, turns), STORED_H, STORED_W)
        assert mask_stored.sum() > 0
        np.testing.assert_array_equal(displayed_image(mask_stored, turns), mask_displayed)


def test_corners_map_as_the_picture_turns():
    # Displayed top-left is stored bottom-left after a counter-clockwise quarter turn.
    assert stored_point(0.0, 0.0, 1) == (1.0, 0.0)
    assert stored_point(0.0, 0.0, 2) == (1.0, 1.0)
    assert stored_point(0.0, 0.0, 3) == (0.0, 1.0)
    for turns in range(4):
        x, y = 0.3, 0.8
        for _ in range(4):
            x, y = stored_point(x, y, turns)
        assert (x, y) == pytest.approx((0.3, 0.8))  # four quarter turns are no turn


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_scribble_turns_back_to_stored(turns):
    disp_h, disp_w = displayed_image(np.zeros((STORED_H, STORED_W)), turns).shape
    scribble = np.zeros((disp_h, disp_w, 4), np.uint8)
    scribble[2:6, 3:9] = (255, 0, 0, 255)
    out = to_stored_orientation(FrameHints(frame=0, scribble=scribble), turns)
    assert out.scribble.shape == (STORED_H, STORED_W, 4)
    np.testing.assert_array_equal(displayed_image(out.scribble, turns), scribble)
    _, mask_displayed = rasterize_hints(FrameHints(frame=0, scribble=scribble), disp_h, disp_w)
    _, mask_stored = rasterize_hints(out, STORED_H, STORED_W)
    np.testing.assert_array_equal(displayed_image(mask_stored, turns), mask_displayed)


def test_no_rotation_returns_the_hints_unchanged():
    hints = FrameHints(frame=0, points=(HintPoint(0.2, 0.7, (1.0, 2.0)),))
    assert to_stored_orientation(hints, 0) is hints


def _displayed_first_frame(path) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))  # applies the display rotation
    ok, bgr = capture.read()
    capture.release()
    assert ok
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("rotation", [90, -90])
def test_hints_on_rotated_video_land_where_they_were_painted(make_clip, tmp_path, rotation):
    from vidcolor.api import Colorizer
    from vidcolor.hints.format import parse_hints

    src = make_clip("phone.mp4", frames=3, size=(64, 32), pattern="flat", rotation=rotation)
    shown = _displayed_first_frame(src)
    assert shown.shape[:2] == (64, 32)  # the player shows it upright: 32 wide, 64 high
    hints = {
        0: parse_hints({"version": 1, "points": [
            {"x": 0.5, "y": 0.12, "color": "#d02020", "size": 0.4},  # red at the top
            {"x": 0.5, "y": 0.88, "color": "#2040d0", "size": 0.4},  # blue at the bottom
        ]}, frame=0)
    }
    dst = tmp_path / "phone_color.mp4"
    seen = []
    Colorizer().colorize_video(src, dst, hints=hints, temporal=False, on_frame=seen.append)
    out = _displayed_first_frame(dst).astype(int)
    assert seen[0].rotation == rotation and seen[0].color.shape == (32, 64, 3)
    upright = seen[0].upright.astype(int)  # what the callback shows matches the player
    assert upright.shape == out.shape
    error = np.abs(upright - out).mean()  # the encoder's 4:2:0 chroma costs a few levels
    assert error < 12 and error < np.abs(upright[::-1, ::-1] - out).mean() / 4
    top, bottom = out[4:12, 8:24], out[-12:-4, 8:24]
    assert (top[..., 0] - top[..., 2]).mean() > 20, "red should be at the displayed top"
    assert (bottom[..., 2] - bottom[..., 0]).mean() > 20, "blue should be at the displayed bottom"


def test_template_exports_the_displayed_picture(make_clip, tmp_path):
    from vidcolor.run import export_hint_templates

    src = make_clip("phone.mp4", frames=2, size=(64, 32), rotation=90)
    written = export_hint_templates(src, tmp_path / "hints", frames=[0])
    png = cv2.imread(str(written[0]), cv2.IMREAD_GRAYSCALE)
    shown = cv2.cvtColor(_displayed_first_frame(src), cv2.COLOR_RGB2GRAY)
    assert png.shape == shown.shape == (64, 32)
    assert np.abs(png.astype(int) - shown).mean() < 3
