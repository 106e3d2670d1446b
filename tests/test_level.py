"""hints.level: the brightness scale plain patches are matched on, chained along the flow."""

from __future__ import annotations

import numpy as np
from test_relay import appearance

from vidcolor.hints.level import BrightnessChain, pair_gain


def sky_over_wall(offset: int, gain: float = 1.0) -> np.ndarray:
    """A 60x120 window at ``offset`` over a scene: bright sky on the left half, a dark
    wall on the right half (new content for a window panning right), times ``gain``."""
    scene = np.full((60, 240), 170.0, np.float32)
    scene[:, 120:] = 60.0
    scene[40:] = 110.0
    return scene[:, offset:offset + 120] * gain


def test_a_static_picture_keeps_the_frame_mean_level_through_flicker():
    gains = [1.0, 1.04, 0.97, 1.02]
    views = [appearance(sky_over_wall(0, g)) for g in gains]
    chain = BrightnessChain(lambda t: views[t])
    still = np.zeros((60, 120, 2), np.float32)
    for t in range(3):
        chain.views(t, t + 1, still)()
    assert [chain.level(t) for t in range(4)] == [v.level for v in views]


def test_a_pan_bringing_dark_content_in_leaves_the_sky_as_bright_as_it_was():
    step = 6
    views = [appearance(sky_over_wall(step * t)) for t in range(12)]
    chain = BrightnessChain(lambda t: views[t])
    pan = np.zeros((60, 120, 2), np.float32)
    pan[..., 0] = -step  # the content moves left as the camera pans right
    for t in range(11):
        chain.views(t, t + 1, pan)()
    sky_first = views[0].mean[20, 5] / chain.level(0)
    sky_last = views[11].mean[20, 5] / chain.level(11)
    assert abs(sky_last - sky_first) < 0.01 * sky_first
    # the frame mean alone would have called the sky much brighter by then
    assert views[11].mean[20, 5] / views[11].level > 1.2 * sky_first
    assert pair_gain(pan, views[0], views[1]) == 1.0
