"""hints.relay: a plain hint leaving the picture is handed on to the rest of its surface."""

from __future__ import annotations

import cv2
import numpy as np

from vidcolor.hints.reid import Appearance
from vidcolor.hints.relay import relay_places

SKY, WALL = np.float32([-5, -30]), np.float32([20, 10])
H, W, WINDOW = 60, 120, 9


def appearance(img: np.ndarray) -> Appearance:
    g = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.5)
    mean = cv2.blur(g, (WINDOW, WINDOW), borderType=cv2.BORDER_REPLICATE)
    var = cv2.blur(g * g, (WINDOW, WINDOW), borderType=cv2.BORDER_REPLICATE) - mean * mean
    return Appearance(g, mean, np.sqrt(np.maximum(var, 0)), float(g.mean()))


def two_skies() -> np.ndarray:
    """Bright plain sky on the left and on the right, the same brightness, split by a dark
    tower (an edge), over textured ground."""
    rng = np.random.default_rng(0)
    img = np.full((H, W), 170.0, np.float32)
    img[:, 50:60] = 40.0
    img[40:] = cv2.GaussianBlur(rng.random((H - 40, W)).astype(np.float32) * 160 + 20,
                                (0, 0), 1.5)
    return img


NOTHING_HELD = ((), (), np.zeros((0, 2), np.float32))


def relay(frame: Appearance, u, v, ab, held=NOTHING_HELD):
    ref = np.full(len(u), 170.0 / frame.level, np.float32)
    return relay_places(frame, np.float32(u), np.float32(v), ref, np.float32(ab),
                        np.float32(held[0]), np.float32(held[1]), np.float32(held[2]),
                        window=WINDOW, plain_max_std=6.0, level_tolerance=0.1,
                        level_floor=3.0, reach=0.3, same_color=12.0)


def test_the_relay_lands_on_the_surface_the_hint_left_and_not_on_a_look_alike():
    frame = appearance(two_skies())
    u, v, found = relay(frame, [-2.0], [15.0], [SKY])  # left through the left edge
    assert found.tolist() == [True]
    assert 4.5 <= u[0] < 50 - 4.5 and 4.5 <= v[0] < 40 - 4.5  # patch wholly on that sky
    u, v, found = relay(frame, [W + 2.0], [15.0], [SKY])  # through the right edge
    assert found.tolist() == [True] and u[0] > 60 + 4.5


def test_no_relay_where_the_exit_place_is_other_content():
    frame = appearance(two_skies())
    dark = np.float32([0.25])  # the hint's sky was much darker: the sky here is not it
    u, v, found = relay_places(frame, np.float32([-2.0]), np.float32([15.0]), dark,
                               np.float32([SKY]), np.zeros(0, np.float32),
                               np.zeros(0, np.float32), np.zeros((0, 2), np.float32),
                               window=WINDOW, plain_max_std=6.0, level_tolerance=0.1,
                               level_floor=3.0, reach=0.3, same_color=12.0)
    assert found.tolist() == [False] and (u[0], v[0]) == (-2.0, 15.0)
    _, _, found = relay(frame, [-2.0], [50.0], [SKY])  # it left through the ground
    assert found.tolist() == [False]


def test_a_surface_still_hinted_in_that_color_gets_no_relay():
    frame = appearance(two_skies())
    held_sky = ([30.0], [20.0], np.float32([SKY + 3]))
    assert relay(frame, [-2.0], [15.0], [SKY], held_sky)[2].tolist() == [False]
    held_elsewhere = ([90.0], [20.0], np.float32([SKY]))  # the other sky does not count
    assert relay(frame, [-2.0], [15.0], [SKY], held_elsewhere)[2].tolist() == [True]
    held_other_color = ([30.0], [20.0], np.float32([WALL]))
    assert relay(frame, [-2.0], [15.0], [SKY], held_other_color)[2].tolist() == [True]


def test_two_hints_leaving_one_surface_get_one_relay_per_color():
    frame = appearance(two_skies())
    _, _, found = relay(frame, [-2.0, -1.0, -2.0], [10.0, 25.0, 20.0], [SKY, SKY + 2, WALL])
    assert found.tolist() == [True, False, True]


def test_a_surface_too_thin_for_a_patch_gets_no_relay():
    img = np.full((H, W), 40.0, np.float32)
    img[10:15] = 170.0  # a 5-row bright band: no 9x9 patch fits on it
    _, _, found = relay(appearance(img), [-2.0], [12.0], [SKY])
    assert found.tolist() == [False]
