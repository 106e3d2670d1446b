"""Hint tracking within a shot on synthetic flows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidcolor.errors import HintError
from vidcolor.hints.format import FrameHints, HintPoint
from vidcolor.hints.rasterize import rasterize_hints
from vidcolor.hints.track import ShotFlows, track_hints

H, W = 40, 64


def constant(dx: float, dy: float, n: int, *, masks: bool = False) -> ShotFlows:
    f = np.zeros((H, W, 2), np.float32)
    f[..., 0], f[..., 1] = dx, dy
    ok = [np.ones((H, W), bool)] * (n - 1) if masks else None
    return ShotFlows([f] * (n - 1), [-f] * (n - 1), ok, ok)


def pixel(p: HintPoint) -> tuple[int, int]:
    return int(p.y * H), int(p.x * W)


HINT = FrameHints(3, points=(HintPoint(0.5, 0.5, (10.0, 20.0)),
                             HintPoint(0.25, 0.75, (-5.0, 5.0), size=0.1)))


@pytest.mark.parametrize("masks", [False, True])
def test_zero_flow_leaves_hints_unchanged(masks):
    out = track_hints(0, 8, {3: HINT}, constant(0, 0, 8, masks=masks), H, W)
    assert [f.frame for f in out] == list(range(8))
    reference = rasterize_hints(HINT, H, W)
    for frame in out:
        assert len(frame.points) == 2
        assert all(p.weight == 1.0 for p in frame.points)
        ab, mask = rasterize_hints(frame, H, W)
        np.testing.assert_array_equal(mask, reference[1])
        np.testing.assert_array_equal(ab, reference[0])


@pytest.mark.parametrize("masks", [False, True])
def test_translation_moves_hints_exactly(masks):
    out = track_hints(0, 8, {3: HINT}, constant(2, -1, 8, masks=masks), H, W)
    for frame in out:
        k = frame.frame - 3
        first = [p for p in frame.points if p.ab == (10.0, 20.0)]
        assert len(first) == 1
        assert first[0].x * W == pytest.approx(0.5 * W + 2 * k, abs=1e-3)
        assert first[0].y * H == pytest.approx(0.5 * H - 1 * k, abs=1e-3)
        assert pixel(first[0]) == (20 - k, 32 + 2 * k)
        assert first[0].size is None


def test_leaving_the_frame_drops_the_hint():
    hint = FrameHints(0, points=(HintPoint(0.9, 0.5, (1.0, 1.0)), HintPoint(0.1, 0.5, (2.0, 2.0))))
    out = track_hints(0, 10, {0: hint}, constant(3, 0, 10), H, W)
    # x = 57.6 px moves 3 px per frame: still inside at frame 2 (63.6), gone at frame 3
    right = [[p for p in f.points if p.ab == (1.0, 1.0)] for f in out]
    assert [len(r) for r in right] == [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    left = [[p for p in f.points if p.ab == (2.0, 2.0)] for f in out]
    assert all(len(r) == 1 for r in left)


def test_inconsistent_region_drops_the_hint_via_mask():
    n = 6
    f = np.zeros((H, W, 2), np.float32)
    ok = np.ones((H, W), bool)
    ok[15:25, 28:36] = False  # occluded around the centre, on frames 0 -> 1 only
    flows = ShotFlows([f] * (n - 1), [f] * (n - 1), [ok] + [np.ones((H, W), bool)] * (n - 2),
                      [np.ones((H, W), bool)] * (n - 1))
    hint = FrameHints(0, points=(HintPoint(0.5, 0.5, (1.0, 1.0)), HintPoint(0.1, 0.1, (2.0, 2.0))))
    out = track_hints(0, n, {0: hint}, flows, H, W)
    assert [len(f.points) for f in out] == [2, 1, 1, 1, 1, 1]
    assert all(f.points[-1].ab == (2.0, 2.0) for f in out)


def test_without_masks_every_point_is_trusted():
    # Tracking has no forward-backward test of its own: consistency comes from the masks.
    n = 4
    fwd = np.zeros((H, W, 2), np.float32)
    fwd[18:23, 30:35, 0] = 4.0
    bwd = np.zeros((H, W, 2), np.float32)  # not the inverse of fwd, and nobody says so
    hint = FrameHints(0, points=(HintPoint(0.5, 0.5, (1.0, 1.0)), HintPoint(0.1, 0.1, (2.0, 2.0))))
    out = track_hints(0, n, {0: hint}, ShotFlows([fwd] * 3, [bwd] * 3), H, W)
    assert [len(f.points) for f in out] == [2, 2, 2, 2]
    assert out[1].points[0].x * W == pytest.approx(32 + 4)


def test_backwards_tracking_uses_backward_flow():
    out = track_hints(0, 5, {4: HINT}, constant(1, 1, 5), H, W)
    p = [q for q in out[0].points if q.ab == (10.0, 20.0)][0]
    assert (p.x * W, p.y * H) == pytest.approx((32 - 4, 20 - 4), abs=1e-3)


def test_between_two_hint_frames_weights_follow_temporal_distance():
    a = FrameHints(0, points=(HintPoint(0.5, 0.5, (30.0, 0.0)), HintPoint(0.1, 0.1, (5.0, 5.0))))
    b = FrameHints(10, points=(HintPoint(0.5, 0.5, (-30.0, 0.0)),))
    out = track_hints(0, 11, {0: a, 10: b}, constant(0, 0, 11), H, W)
    for t, frame in enumerate(out):
        centre = [p for p in frame.points if p.x == pytest.approx(0.5)]
        ab, mask = rasterize_hints(frame, H, W)
        if t in (0, 10):
            assert len(centre) == 1 and centre[0].weight == 1.0
            assert ab[20, 32, 0] == (30.0 if t == 0 else -30.0)
            continue
        by_ab = {p.ab[0]: p.weight for p in centre}
        assert by_ab[30.0] == pytest.approx((10 - t) / 10)
        assert by_ab[-30.0] == pytest.approx(t / 10)
        # blended chroma moves linearly from frame 0's hint to frame 10's
        assert ab[20, 32, 0] == pytest.approx(30.0 - 6.0 * t, abs=1e-4)
        # the uncontested corner hint of frame 0 keeps full weight
        corner = [p for p in frame.points if p.ab == (5.0, 5.0)]
        assert len(corner) == 1 and corner[0].weight == 1.0


def test_new_hint_frame_overrides_stale_hints_near_it():
    a = FrameHints(0, points=(HintPoint(0.5, 0.5, (30.0, 0.0)), HintPoint(0.1, 0.1, (5.0, 5.0))))
    b = FrameHints(5, points=(HintPoint(0.51, 0.5, (-30.0, 0.0)),))
    out = track_hints(0, 12, {0: a, 5: b}, constant(0, 0, 12), H, W)
    for t in range(5, 12):
        colors = sorted(p.ab[0] for p in out[t].points)
        assert colors == [-30.0, 5.0]  # frame 0's centre hint is gone for good after frame 5
    for t in range(0, 5):
        assert 5.0 in [p.ab[0] for p in out[t].points]


def test_scribble_is_carried_as_points():
    layer = np.zeros((H, W, 4), np.uint8)
    layer[8:16, 8:24] = (255, 0, 0, 255)
    hint = FrameHints(2, scribble=layer)
    out = track_hints(0, 6, {2: hint}, constant(4, 0, 6), H, W)
    assert out[2].scribble is layer and out[2].points == ()
    for t in (0, 1, 3, 4, 5):
        assert out[t].scribble is None
        _, mask = rasterize_hints(out[t], H, W)
        expected = np.zeros((H, W), bool)
        left = 8 + 4 * (t - 2)
        expected[8:16, max(left, 0):left + 16] = True
        assert np.array_equal(mask > 0, expected), t


def test_no_hints_gives_empty_frames():
    out = track_hints(10, 14, {}, constant(0, 0, 4), H, W)
    assert [f.frame for f in out] == [10, 11, 12, 13]
    assert all(f.points == () for f in out)


def test_bad_flows_raise():
    with pytest.raises(HintError, match="expected 4"):
        track_hints(0, 5, {0: HINT}, constant(0, 0, 4), H, W)
    with pytest.raises(HintError, match="working"):
        track_hints(0, 5, {0: FrameHints(0, points=HINT.points)},
                    ShotFlows([np.zeros((5, 5, 2), np.float32)] * 4,
                              [np.zeros((5, 5, 2), np.float32)] * 4), H, W)


def dis_flows(frames: list[np.ndarray]) -> ShotFlows:
    """Forward/backward DIS flows of a sequence and the pipeline's consistency masks."""
    from vidcolor.temporal.flow import compute_flow_pair, forward_backward_mask

    pairs = [compute_flow_pair(a, b) for a, b in zip(frames[:-1], frames[1:], strict=True)]
    return ShotFlows([f for f, _ in pairs], [b for _, b in pairs],
                     [forward_backward_mask(f, b) for f, b in pairs],
                     [forward_backward_mask(b, f) for f, b in pairs])


def grainy(base: np.ndarray, rng: np.random.Generator, sigma: float = 9.0) -> np.ndarray:
    return np.clip(base + rng.normal(0, sigma, base.shape), 0, 255).astype(np.uint8)


def test_follows_real_optical_flow_on_a_moving_texture():
    """With DIS flow of a textured square sliding over a static texture, the hint stays on
    the square and a hint on background the square slides over is dropped."""
    h, w = 96, 128
    rng = np.random.default_rng(0)
    bg = cv2.GaussianBlur((rng.random((h, w)) * 255).astype(np.uint8), (0, 0), 2)
    obj = cv2.GaussianBlur((rng.random((24, 24)) * 255).astype(np.uint8), (0, 0), 1.5)
    obj = cv2.normalize(obj, None, 0, 255, cv2.NORM_MINMAX)
    frames = []
    for t in range(6):
        img = bg.copy()
        img[36:60, 20 + 3 * t:44 + 3 * t] = obj
        frames.append(img)
    hint = FrameHints(0, points=(HintPoint(32.5 / w, 48.5 / h, (50.0, 0.0)),
                                 HintPoint(50.5 / w, 48.5 / h, (0.0, 50.0)),
                                 HintPoint(100.5 / w, 20.5 / h, (9.0, 9.0))))
    for luma in (None, frames):
        out = track_hints(0, 6, {0: hint}, dis_flows(frames), h, w, luma=luma)
        on_obj = [[p for p in f.points if p.ab == (50.0, 0.0)] for f in out]
        assert all(len(p) == 1 for p in on_obj)
        assert on_obj[5][0].x * w == pytest.approx(32.5 + 15, abs=1.5)
        assert on_obj[5][0].y * h == pytest.approx(48.5, abs=1.0)
        covered = [[p for p in f.points if p.ab == (0.0, 50.0)] for f in out]
        assert len(covered[0]) == 1 and len(covered[-1]) == 0  # slid over: dropped
        still = [[p for p in f.points if p.ab == (9.0, 9.0)] for f in out]
        assert all(len(p) == 1 for p in still)
        assert still[-1][0].x * w == pytest.approx(100.5, abs=0.5)


def weave(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, img.shape[::-1], flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def plain_scene(h: int, w: int) -> np.ndarray:
    """A plain bright sky over textured ground (float32)."""
    rng = np.random.default_rng(1)
    img = np.full((h, w), 170.0, np.float32)
    ground = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32) * 160 + 20, (0, 0), 1.5)
    img[h * 2 // 3:] = ground[h * 2 // 3:]
    return img


def test_hint_on_a_plain_grainy_static_surface_holds():
    """Grain, flicker and +-1 px gate weave make flow on a plain sky random; the hint on it
    is still the sky on every frame, and stays near its place."""
    h, w, n = 96, 128, 30
    rng = np.random.default_rng(2)
    base = plain_scene(h, w)
    frames = [grainy(weave(base, *rng.uniform(-1, 1, 2)) * rng.uniform(0.95, 1.05), rng)
              for _ in range(n)]
    hint = FrameHints(0, points=(HintPoint(0.3, 0.2, (-5.0, -30.0)),
                                 HintPoint(0.7, 0.3, (-5.0, -30.0)),
                                 HintPoint(0.5, 0.85, (5.0, 25.0))))
    flows = dis_flows(frames)
    assert not all(ok.all() for ok in flows.forward_ok)  # the masks do doubt the sky
    out = track_hints(0, n, {0: hint}, flows, h, w, luma=frames)
    for f in out:
        assert len(f.points) == 3, f.frame
        for p, q in zip(f.points, hint.points, strict=True):
            assert p.ab == q.ab
            assert abs(p.x - q.x) * w < 4 and abs(p.y - q.y) * h < 4


def test_hint_on_a_plain_surface_is_never_painted_on_what_covers_it():
    """A dark textured object slides over the hinted sky: the hint may slide along the sky
    ahead of it (still the hinted surface), but is never painted on the object, and once
    the object has covered it, it is gone for good."""
    h, w, n = 96, 128, 24
    rng = np.random.default_rng(3)
    base = plain_scene(h, w)
    obj = cv2.GaussianBlur(rng.random((30, 30)).astype(np.float32) * 80, (0, 0), 1.5)
    frames, spans = [], []
    for t in range(n):
        img = base.copy()
        left = -30 + 5 * t
        lo, hi = max(left, 0), min(left + 30, w)
        if hi > lo:
            img[5:35, lo:hi] = obj[:, lo - left:hi - left]
        frames.append(grainy(img, rng))
        spans.append((lo, hi))
    hint = FrameHints(0, points=(HintPoint(38.5 / w, 20.5 / h, (-5.0, -30.0)),
                                 HintPoint(100.5 / w, 80.5 / h, (5.0, 25.0))))
    out = track_hints(0, n, {0: hint}, dis_flows(frames), h, w, luma=frames)
    for t, f in enumerate(out):
        lo, hi = spans[t]
        for p in f.points:
            if p.ab == (-5.0, -30.0):
                x, y = p.x * w, p.y * h
                assert not (lo - 1 <= x <= hi + 1 and 4 <= y <= 36), t  # not on the object
    assert not any(p.ab == (-5.0, -30.0) for p in out[-1].points)
    assert all(any(p.ab == (5.0, 25.0) for p in f.points) for f in out)


def test_hint_on_a_plain_surface_survives_a_dust_speck():
    """A speck on one frame is not the end of the surface under it."""
    h, w, n = 96, 128, 8
    rng = np.random.default_rng(4)
    base = plain_scene(h, w)
    frames = [grainy(base, rng) for _ in range(n)]
    cv2.circle(frames[3], (38, 20), 4, 20, -1)
    hint = FrameHints(0, points=(HintPoint(38.5 / w, 20.5 / h, (-5.0, -30.0)),))
    out = track_hints(0, n, {0: hint}, dis_flows(frames), h, w, luma=frames)
    assert len(out[-1].points) == 1
    assert out[-1].points[0].x * w == pytest.approx(38.5, abs=4)


def test_luma_of_the_wrong_count_or_shape_raises():
    with pytest.raises(HintError, match="luma"):
        track_hints(0, 5, {0: HINT}, constant(0, 0, 5), H, W,
                    luma=[np.zeros((H, W), np.uint8)] * 4)


def pan_away_and_back(h: int, w: int, speed: int, rng: np.random.Generator,
                      grain: float) -> tuple[list[np.ndarray], list[int]]:
    """A window of ``w`` px panning over a 2w-wide scene to its right half and back.

    Left half: bright plain sky over textured ground. Right half (new content): a darker
    plain wall over other texture. Returns the frames and each frame's window offset.
    """
    scene = np.concatenate([plain_scene(h, w), plain_scene(h, w)], axis=1)
    other = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32) * 160 + 20, (0, 0), 1.5)
    scene[: h * 2 // 3, w:] = 90.0
    scene[h * 2 // 3:, w:] = other[h * 2 // 3:]
    out_ = list(range(0, w + 1, speed))
    offsets = [0, 0, *out_, w, w, w, *out_[::-1], 0, 0]
    frames = [grainy(scene[:, o:o + w], rng, grain) if grain else
              np.clip(scene[:, o:o + w], 0, 255).astype(np.uint8) for o in offsets]
    return frames, offsets


@pytest.mark.parametrize("grain", [0.0, 6.0])
def test_hinted_content_that_leaves_and_comes_back_gets_its_hint_back(grain):
    """Sky and ground hinted near the left edge leave the picture as the camera pans right
    and re-enter as it pans back: they are painted again at their places (re-identified),
    and the new content seen in between (a darker wall, other ground) gets no hint."""
    h, w = 64, 96
    frames, offsets = pan_away_and_back(h, w, 6, np.random.default_rng(7), grain)
    sky, ground = (-5.0, -30.0), (5.0, 25.0)
    hint = FrameHints(0, points=(HintPoint(10.5 / w, 12.5 / h, sky, 0.05),
                                 HintPoint(14.5 / w, 54.5 / h, ground, 0.05)))
    out = track_hints(0, len(frames), {0: hint}, dis_flows(frames), h, w, luma=frames)
    left_at = {}
    for t, (f, o) in enumerate(zip(out, offsets, strict=True)):
        for p in f.points:
            x = p.x * w + o  # scene coordinates
            assert x < w, (t, p)  # never on the new content (the right half of the scene)
        ab, mask = rasterize_hints(f, h, w)
        assert not mask[:, max(0, w - o):].any(), t  # the new content stays unhinted
        for ab_, (x0, _y0) in ((sky, (10.5, 12.5)), (ground, (14.5, 54.5))):
            if x0 - o < 0:
                left_at.setdefault(ab_, t)
    assert set(left_at) == {sky, ground}  # both did leave the picture
    final = out[-1]  # the camera is back where it started
    # the textured ground is found at its place; on the plain sky any place is the sky,
    # so the sky hint is where the camera's integrated motion puts it, on the sky. The sky
    # also holds the relays its hint was handed on to as it left (hints.relay)
    for ab_, (x0, y0), slack in ((sky, (10.5, 12.5), 8), (ground, (14.5, 54.5), 3)):
        mine = [p for p in final.points if p.ab == ab_]
        assert len(mine) >= 1 if ab_ == sky else len(mine) == 1, ab_
        assert any(abs(p.x * w - x0) < slack and abs(p.y * h - y0) < slack for p in mine)
    assert all(p.y * h < h * 2 / 3 - 4 for p in final.points if p.ab == sky)
    # on the way out, while some of the hinted sky is in view, the sky is hinted: the
    # hint was handed on as its place left
    away = offsets.index(w)
    seen_sky = [t for t, o in enumerate(offsets[:away]) if w - o >= 12]
    assert all(any(p.ab == sky for p in out[t].points) for t in seen_sky)
    # back on every frame from two frames after its place is inside the picture again
    back = [t for t, o in enumerate(offsets) if t > left_at[sky] and 10.5 - o >= 6]
    assert all(any(p.ab == sky for p in out[t].points) for t in back[2:])
