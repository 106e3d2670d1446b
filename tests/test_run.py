"""The video run (``vidcolor.run``) end to end on tiny generated clips, with small random weights.

Every test asserts an invariant of a run: luma, frame count, timestamps, audio packets,
rotation and metadata survive; the result does not depend on the batch size; a stopped or
killed run leaves no output; a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import media
import numpy as np
import pytest
import torch

from vidcolor import run
from vidcolor.api import Colorizer
from vidcolor.errors import Cancelled, DecodeError, OutputError
from vidcolor.frames import working_shape
from vidcolor.models import registry, weights
from vidcolor.models.inference import HintColorizer
from vidcolor.options import ModelOptions, RunOptions
from vidcolor.progress import Progress
from vidcolor.run import compose, stream, workdir
from vidcolor.run.plan import ShotHints
from vidcolor.run.shot import track_shot_hints
from vidcolor.temporal.shots import Shot, shots_from_cuts

REPO = Path(__file__).resolve().parents[1]
WORKING_SIZE = 64  # small, so that a run of a 64x48 clip takes about a second


def random_entry() -> registry.WeightsEntry:
    """A small plain SIGGRAPH17 contract (no propagation input): random weights fit it."""
    base = registry.builtin_entries()[registry.DEFAULT_NAME]
    return dataclasses.replace(base, extra_inputs=0, extra=None, residual=False,
                               width_mult=0.125, working_size=WORKING_SIZE)


def random_hint_colorizer(seed: int = 0, batch_size: int = 4) -> HintColorizer:
    """A HintColorizer with seeded random weights, on the CPU."""
    torch.manual_seed(seed)
    entry = random_entry()
    return HintColorizer.from_model(weights.build_model(entry), entry, device="cpu",
                                    batch_size=batch_size)


def random_colorizer(seed: int = 0, batch_size: int = 4) -> Colorizer:
    """An API Colorizer around random weights at a small working size."""
    return Colorizer.from_model(random_hint_colorizer(seed, batch_size),
                                batch_size=batch_size, working_size=WORKING_SIZE)


def random_weights_file(path: Path, seed: int = 0) -> Path:
    """Save seeded random weights as a vidcolor .safetensors file (for the CLI)."""
    torch.manual_seed(seed)
    entry = random_entry()
    weights.save_weights(weights.build_model(entry), entry, path)
    return path


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    """Files and folders in ``folder`` other than ``keep`` (temp files, work folders)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return random_colorizer()


# --------------------------------------------------------------------------- pure parts


def test_working_shape_multiple_of_8_and_short_side():
    assert working_shape(1080, 1920, 256) == (256, 456)
    assert working_shape(720, 1280, 256) == (256, 456)
    assert working_shape(48, 64, 256) == (48, 64)  # never enlarged
    assert working_shape(45, 61, 256) == (48, 64)  # only rounded to multiples of 8
    h, w = working_shape(490, 650, 64)
    assert h % 8 == 0 and w % 8 == 0 and min(h, w) == 64


def test_upsample_constant_chroma_stays_constant():
    rng = np.random.default_rng(0)
    guide = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    ab = np.empty((8, 16, 2), np.float32)
    ab[..., 0], ab[..., 1] = 20.0, -35.0
    for backend in ("opencv", "kornia"):
        up = compose.upsample_ab(ab, guide, backend=backend)
        assert up.shape == (37, 53, 2)
        np.testing.assert_allclose(up[..., 0], 20.0, atol=1e-3)
        np.testing.assert_allclose(up[..., 1], -35.0, atol=1e-3)


def test_opencv_and_kornia_guided_upsampling_agree():
    rng = np.random.default_rng(1)
    guide = (np.linspace(0, 255, 80)[None, :] * np.ones((60, 1))).astype(np.uint8)
    ab = rng.normal(0, 20, (16, 24, 2)).astype(np.float32)
    a = compose.upsample_ab(ab, guide, backend="opencv")
    b = compose.upsample_ab(ab, guide, backend="kornia")
    inner = (slice(17, -17), slice(17, -17))  # the borders differ: OpenCV and kornia pad
    assert np.abs(a[inner] - b[inner]).max() < 0.01  # their box filters differently


def test_zero_chroma_gives_neutral_uv():
    gray = np.random.default_rng(2).integers(0, 256, (10, 14), dtype=np.uint8)
    ab = np.zeros((8, 8, 2), np.float32)
    u, v = compose.compose_chroma(gray, ab, (7, 5), matrix="bt601", full_range=False)
    assert u.shape == v.shape == (5, 7)
    assert np.abs(u.astype(int) - 128).max() <= 1 and np.abs(v.astype(int) - 128).max() <= 1


def test_chroma_sign_follows_ab():
    gray = np.full((4, 4), 128, np.uint8)
    ab = np.zeros((4, 4, 2), np.float32)
    ab[..., 1] = 60.0  # +b is yellow: less blue, so U < 128
    ab[..., 0] = 50.0  # +a is red-magenta: V > 128
    u, v = compose.chroma_from_lab(gray, ab, matrix="bt709", full_range=False)
    assert (u < 120).all() and (v > 136).all()


def test_record_file_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(5, 6, 7, 2)).astype(np.float16)
    with workdir.RecordFile(tmp_path / "r.f16", (6, 7, 2), np.float16) as rec:
        for i in (4, 0, 2, 1, 3):  # out of order
            rec.write(i, data[i])
        assert len(rec) == 5
        for i in range(5):
            np.testing.assert_array_equal(rec.read(i), data[i])


def test_stored_chroma_is_within_half_a_unit():
    ab = np.random.default_rng(4).uniform(-110, 110, (9, 11, 2)).astype(np.float32)
    ab[0, 0] = (-140.0, 150.0)  # beyond int8: clipped, never wrapped
    stored = workdir.chroma_record(ab)
    assert stored.dtype == np.int8
    assert np.abs(stored[1:].astype(np.float32) - ab[1:]).max() <= 0.5
    assert tuple(stored[0, 0]) == (-128, 127)


def test_shots_from_cuts_cover_every_frame_once():
    shots = shots_from_cuts([12, 5, 12, 0, 40], 30)
    assert [(s.start, s.stop) for s in shots] == [(0, 5), (5, 12), (12, 30)]
    assert [s.index for s in shots] == [0, 1, 2]


# --------------------------------------------------------------------------- video runs


def test_luma_frames_pts_and_audio_preserved(make_clip, tmp_path, colorizer):
    src = make_clip("in.mp4", frames=14, audio=True, metadata={"title": "a test film"})
    dst = tmp_path / "out.mp4"
    report = colorizer.colorize_video(src, dst)
    assert report.frames == 14 and dst.exists()
    assert media.psnr(media.read_luma(src), media.read_luma(dst)) >= 45.0
    assert media.read_pts(dst) == media.read_pts(src)
    assert media.read_time_base(dst) == media.read_time_base(src)
    assert media.read_audio_packets(dst) == media.read_audio_packets(src)
    assert media.read_metadata(dst).get("title") == "a test film"
    assert leftovers(tmp_path, {"in.mp4", "out.mp4"}) == []  # work folder and temp gone


def test_subtitles_and_audio_survive_a_run(make_clip, tmp_path, colorizer):
    subtitles = [(80, 200, "Reel 1."), (300, 150, "The end.")]
    src = make_clip("film.mkv", frames=12, audio=True, subtitles=subtitles)
    dst = tmp_path / "film_color.mkv"
    colorizer.colorize_video(src, dst)
    assert media.read_subtitle_packets(dst) == media.read_subtitle_packets(src)
    assert media.read_audio_packets(dst) == media.read_audio_packets(src)
    assert media.read_pts(dst) == media.read_pts(src)


def test_output_is_colored(make_clip, tmp_path, colorizer):
    src = make_clip("in.mp4", frames=8)
    dst = tmp_path / "out.mkv"
    colorizer.colorize_video(src, dst)
    import av

    with av.open(str(dst)) as c:
        frame = next(c.decode(video=0))
        u = frame.to_ndarray(format="yuv420p")[frame.height:]  # the U and V rows
    assert np.abs(u.astype(int) - 128).mean() > 1.0  # not the gray input's neutral chroma


def test_vfr_timestamps_preserved(make_clip, tmp_path, colorizer):
    src = make_clip("vfr.mkv", frames=12, vfr=True)
    dst = tmp_path / "vfr_out.mkv"
    colorizer.colorize_video(src, dst)
    assert media.read_times(dst) == media.read_times(src)
    assert len(media.read_pts(dst)) == 12


def test_odd_size_rotation_kept(make_clip, tmp_path, colorizer):
    src = make_clip("odd.mp4", frames=8, size=(65, 49), pix_fmt="yuv444p", rotation=90)
    dst = tmp_path / "odd_out.mp4"
    colorizer.colorize_video(src, dst)
    info = media.read_video_info(dst)
    assert (info["width"], info["height"], info["frames"]) == (65, 49, 8)
    assert media.read_rotation(dst) == media.read_rotation(src) == 90
    assert media.psnr(media.read_luma(src), media.read_luma(dst)) >= 45.0


def test_batch_size_does_not_change_the_output(make_clip, tmp_path):
    src = make_clip("in.mp4", frames=14, cuts=(7,))
    outs = []
    for batch in (1, 5):
        dst = tmp_path / f"out_b{batch}.mkv"
        random_colorizer(batch_size=batch).colorize_video(src, dst)
        outs.append(media.read_luma(dst))
        import av

        with av.open(str(dst)) as c:
            outs.append(np.stack([f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]))
    np.testing.assert_array_equal(outs[0], outs[2])  # luma
    np.testing.assert_array_equal(outs[1], outs[3])  # every decoded Y, U and V sample


def test_multi_shot_report(make_clip, tmp_path, colorizer):
    src = make_clip("cuts.mp4", frames=24, cuts=(8, 16))
    report = colorizer.colorize_video(src, tmp_path / "cuts_out.mp4")
    assert report.shots == 3 and list(report.cuts) == [8, 16]
    assert report.frames == 24 and report.fps > 0
    assert report.to_dict()["cuts"] == [8, 16]


def test_on_frame_in_order_on_callers_thread(make_clip, tmp_path, colorizer):
    import threading

    src = make_clip("in.mp4", frames=10)
    seen = []
    caller = threading.get_ident()

    def on_frame(frame):
        assert threading.get_ident() == caller
        assert frame.color.shape == (48, 64, 3) and frame.color.dtype == np.uint8
        assert frame.gray.shape == (48, 64)
        assert not frame.color.flags.writeable
        seen.append((frame.index, frame.time.pts))

    colorizer.colorize_video(src, tmp_path / "out.mp4", on_frame=on_frame)
    assert [i for i, _ in seen] == list(range(10))
    assert [p for _, p in seen] == media.read_pts(src)


@pytest.mark.parametrize("how", ["false", "raise"])
def test_on_frame_cancel_leaves_no_output(make_clip, tmp_path, colorizer, how):
    src = make_clip("in.mp4", frames=12)
    dst = tmp_path / "out.mp4"

    def on_frame(frame):
        if frame.index == 4:
            if how == "raise":
                raise Cancelled("stop")
            return False
        return None

    with pytest.raises(Cancelled):
        colorizer.colorize_video(src, dst, on_frame=on_frame)
    assert not dst.exists()
    assert leftovers(tmp_path, {"in.mp4"}) == []


def test_existing_output_and_input_as_output_refused(make_clip, tmp_path, colorizer):
    from vidcolor.errors import InputError

    src = make_clip("in.mp4", frames=6)
    with pytest.raises(InputError, match="input"):
        colorizer.colorize_video(src, src, overwrite=True)
    dst = tmp_path / "exists.mp4"
    dst.write_bytes(b"keep me")
    with pytest.raises(InputError, match="exists"):
        colorizer.colorize_video(src, dst)
    assert dst.read_bytes() == b"keep me"
    colorizer.colorize_video(src, dst, overwrite=True)
    assert media.read_video_info(dst)["frames"] == 6


def test_decode_errors_filled_and_counted_or_strict(tmp_path, colorizer):
    src = media.make_corrupt_clip(tmp_path / "bad.mov", frames=12, bad=(5,))
    report = colorizer.colorize_video(src, tmp_path / "bad_out.mkv")
    assert report.decode_errors_filled == 1
    assert media.read_video_info(tmp_path / "bad_out.mkv")["frames"] == 12
    with pytest.raises(DecodeError):
        colorizer.colorize_video(src, tmp_path / "strict_out.mkv", strict=True)
    assert not (tmp_path / "strict_out.mkv").exists()
    assert leftovers(tmp_path, {"bad.mov", "bad_out.mkv"}) == []


def _textured_scene(seed: int, size: tuple[int, int] = (256, 160)) -> np.ndarray:
    """A gray scene with plenty of SIFT features, unique per seed."""
    import cv2

    w, h = size
    rng = np.random.default_rng(seed)
    noise = cv2.resize(rng.random((h // 4, w // 4)).astype(np.float32), (w, h))
    img = (cv2.GaussianBlur(noise, (0, 0), 2) * 255).clip(0, 255).astype(np.uint8)
    for _ in range(20):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, centre, int(rng.integers(4, 20)), int(rng.integers(0, 256)), -1)
    return img


def test_frames_stream_borrows_from_an_earlier_similar_shot(monkeypatch):
    from vidcolor.hints.format import FrameHints, HintPoint

    a, b = _textured_scene(1), _textured_scene(2)
    grays = [a] * 6 + [b] * 6 + [a] * 6  # shots A, B, then A again without hints
    planned = {}
    real = stream.colorize_shot

    def spy(shot, *args, **kwargs):
        planned[shot.index] = (shot, args[2])
        return real(shot, *args, **kwargs)

    monkeypatch.setattr(stream, "colorize_shot", spy)
    hint = FrameHints(frame=1, points=(HintPoint(0.3, 0.4, (50.0, 30.0), size=0.05),))
    options = RunOptions(model=ModelOptions(working_size=WORKING_SIZE * 2))
    model = run.ChromaModel(random_hint_colorizer())
    frames = list(stream.colorize_gray_stream(iter(grays), {1: hint}, model,
                                                options))
    assert len(frames) == 18
    assert [(s.start, s.stop) for s, _ in planned.values()] == [(0, 6), (6, 12), (12, 18)]
    assert planned[0][1].frames == {1: hint} and planned[0][1].record is None
    third = planned[2][1]
    assert third.frames == {} and third.record.source_shot == 0
    assert third.record.method == "features"
    (borrowed,) = third.borrowed.values()
    assert borrowed.points[0].ab == (50.0, 30.0)
    assert borrowed.points[0].x == pytest.approx(0.3, abs=0.02)  # same picture, same place
    assert borrowed.points[0].y == pytest.approx(0.4, abs=0.02)
    assert planned[1][1].record.source_shot in (None, 0) and not planned[1][1].borrowed


def test_full_disk_is_a_clear_error_and_cleans_up(make_clip, tmp_path, colorizer, monkeypatch):
    src = make_clip("in.mp4", frames=10)
    dst = tmp_path / "out.mp4"
    real = os.pwrite
    calls = {"n": 0}

    def pwrite(fd, data, offset):
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)  # the OS call, as a full disk would fail it
    with pytest.raises(OutputError, match="No space left"):
        colorizer.colorize_video(src, dst)
    assert not dst.exists()
    assert leftovers(tmp_path, {"in.mp4"}) == []


def test_too_little_free_space_is_refused_before_any_work(make_clip, tmp_path, colorizer,
                                                           monkeypatch):
    src = make_clip("in.mp4", frames=10)
    dst = tmp_path / "out.mp4"
    info = probe_clip(src)
    shape = working_shape(info.height, info.width, WORKING_SIZE)
    needed = workdir.work_bytes_estimate(info, shape)
    h, w = shape
    assert needed == 10 * h * w * workdir.WORK_BYTES_PER_PIXEL + src.stat().st_size
    real = shutil.disk_usage

    def disk_usage(path):
        return real(path)._replace(free=needed - 1)

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)  # the OS's answer, as a full disk
    events = RecordingProgress()
    with pytest.raises(OutputError, match=r"not enough free space.*GB is free"):
        colorizer.colorize_video(src, dst, progress=events)
    assert events.stages == [] and leftovers(tmp_path, {"in.mp4"}) == []  # nothing decoded
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda path: real(path)._replace(free=needed))
    workdir.check_free_space(tmp_path, needed)  # exactly enough is enough
    monkeypatch.undo()
    assert colorizer.colorize_video(src, dst).frames == 10


class RecordingProgress(Progress):
    """A progress receiver that remembers which stages reported."""

    def __init__(self):
        super().__init__(min_interval=0.0)
        self.stages: list[str] = []

    def on_progress(self, stage, frame, frames, fps, eta):
        self.stages.append(stage)


def probe_clip(path):
    from vidcolor.io.probe import probe

    return probe(path)


# --------------------------------------------------------------------------- signals, resume

_RUNNER = """
import sys, time
sys.path.insert(0, {tests!r})
import test_run as tp
from vidcolor.models.inference import HintColorizer
slow = HintColorizer.predict_ab
def predict_ab(*args, **kwargs):  # slow each batch down so the parent can signal mid-run
    time.sleep(float(sys.argv[3]))
    return slow(*args, **kwargs)
HintColorizer.predict_ab = predict_ab
from vidcolor import cli
"""


def _cli_with_slow_shots(tmp_path: Path, args: list[str], delay: float) -> subprocess.Popen:
    weights_file = tmp_path / "random.safetensors"
    if not weights_file.exists():
        random_weights_file(weights_file)
    script = tmp_path / "runner.py"
    script.write_text(_RUNNER.format(tests=str(REPO / "tests")) + "cli.main(sys.argv[4:])\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [sys.executable, str(script), "-", "-", str(delay), *args,
           "--weights", str(weights_file), "--working-size", str(WORKING_SIZE),
           "--device", "cpu", "--progress", "none"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for(path_glob, folder: Path, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list(folder.glob(path_glob)):
            return True
        time.sleep(0.05)
    return False


def _decoded(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="yuv420p") for f in c.decode(video=0)])


@pytest.mark.slow
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_cleanly(make_clip, tmp_path, sig, code):
    src = make_clip("in.mp4", frames=24, cuts=(8, 16))
    dst = tmp_path / "out.mp4"
    proc = _cli_with_slow_shots(tmp_path, [str(src), "-o", str(dst)], delay=1.0)
    assert _wait_for("out.mp4.vidcolor-work/ab_00000.done", tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not dst.exists()
    assert not list(tmp_path.glob(".out*"))  # no temp output


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(make_clip, tmp_path):
    src = make_clip("in.mp4", frames=24, cuts=(8, 16))
    ref = tmp_path / "ref.mkv"
    proc = _cli_with_slow_shots(tmp_path, [str(src), "-o", str(ref)], delay=0.0)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()

    dst = tmp_path / "out.mkv"
    proc = _cli_with_slow_shots(tmp_path, [str(src), "-o", str(dst)], delay=1.5)
    assert _wait_for("out.mkv.vidcolor-work/ab_00000.done", tmp_path)
    proc.kill()  # SIGKILL: no cleanup code runs
    proc.wait(timeout=30)
    assert not dst.exists()
    work = tmp_path / "out.mkv.vidcolor-work"
    assert work.is_dir()
    done_before = sorted(p.name for p in work.glob("*.done"))
    assert done_before and len(done_before) < 3

    proc = _cli_with_slow_shots(tmp_path, [str(src), "-o", str(dst), "--resume",
                                           "--report", str(tmp_path / "report.json")], 0.0)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    import json

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["resumed_shots"] == len(done_before)
    np.testing.assert_array_equal(_decoded(dst), _decoded(ref))
    assert not work.exists()
    assert not list(tmp_path.glob(".out*"))


def test_reference_points_at_a_hint_frame_join_its_own_points():
    """Reference guidance stored as 'borrowed' at the hint frame itself must not replace it."""
    from vidcolor.hints.format import FrameHints, HintPoint

    own = FrameHints(frame=0, points=(HintPoint(0.25, 0.25, (40.0, 20.0)),))
    from_reference = FrameHints(frame=0, points=(HintPoint(0.75, 0.75, (-30.0, 10.0)),))
    shot = Shot(index=0, start=0, stop=3)
    hints = ShotHints(frames={0: own}, borrowed={0: from_reference})
    zero = np.zeros((16, 16, 2), np.float32)

    tracked = track_shot_hints(shot, lambda k: (zero, zero), hints, (16, 16))

    for index in range(3):
        abs_ = sorted(p.ab for p in tracked[index].points)
        assert abs_ == [(-30.0, 10.0), (40.0, 20.0)]


class HintCopier:
    """A stand-in network: a hint's color where a hint is, neutral everywhere else."""

    def predict_ab(self, lightness, hint_ab, hint_mask):
        return hint_ab * (hint_mask[..., None] > 0)


def test_content_that_comes_back_gets_its_hint_color_and_new_content_stays_gray(monkeypatch):
    """A camera pans from the hinted left half of a scene to its right half and back: the
    hinted sky is blue again once it is back (the run re-identifies it), and the right half
    (new content no hint was on) stays gray throughout."""
    import cv2

    from vidcolor.color import rgb_to_lab
    from vidcolor.hints.format import FrameHints, HintPoint
    from vidcolor.options import TemporalOptions

    h, w, speed = 64, 96, 6
    rng = np.random.default_rng(5)
    ground = cv2.GaussianBlur(rng.random((h, 2 * w)).astype(np.float32) * 160 + 20, (0, 0),
                              1.5)
    scene = ground.copy()
    scene[: 2 * h // 3, :w] = 170.0  # the hinted sky
    scene[: 2 * h // 3, w:] = 90.0  # a darker wall: new content
    offsets = [0, 0, *range(0, w + 1, speed), w, w, *range(w, -1, -speed), 0, 0]
    frames = [np.ascontiguousarray(scene[:, o:o + w]).astype(np.uint8) for o in offsets]
    shots = []
    real = stream.colorize_shot
    monkeypatch.setattr(stream, "colorize_shot",
                        lambda shot, *a, **k: (shots.append(shot), real(shot, *a, **k))[1])
    blue = (-5.0, -30.0)
    hint = FrameHints(0, points=(HintPoint(12.5 / w, 12.5 / h, blue, 0.1),))
    options = RunOptions(model=ModelOptions(working_size=h),
                         temporal=TemporalOptions(enabled=False))
    out = list(stream.colorize_gray_stream(iter(frames), {0: hint}, run.ChromaModel(HintCopier()),
                                           options))
    assert len(out) == len(frames) and [(s.start, s.stop) for s in shots] == [(0, len(frames))]
    for t, (frame, o) in enumerate(zip(out, offsets, strict=True)):
        ab = rgb_to_lab(frame)[..., 1:]
        new = ab[:, w - o:]  # the part of the picture showing the right half
        assert not new.size or np.abs(new).max() < 3, t
    sky_at = [t for t, o in enumerate(offsets) if 12.5 - o < 0]
    assert sky_at  # the sky did leave the picture
    first, last = (rgb_to_lab(out[i])[10:15, 10:15, 1:].mean(axis=(0, 1)) for i in (0, -1))
    assert first[1] < -10  # blue on the hint frame (softened by the upsampling)
    assert np.linalg.norm(last - first) < 3  # and as blue again once the sky is back
    assert all(np.abs(rgb_to_lab(out[t])[..., 1:]).max() < 3 for t, o in enumerate(offsets)
               if o == w)  # nothing but new content in view: all gray
