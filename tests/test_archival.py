"""Archival input and output: bit depth, chroma layout, codecs, colour tags, timecode.

Each input is generated here (PyAV writes 10-bit FFV1, x264 and ProRes) and each output is
checked through an independent PyAV read (``media.read_deep``): depth, subsampling, the
raw Y codes, colour tags and the start timecode.
"""

from __future__ import annotations

from fractions import Fraction

import media
import numpy as np
import pytest
from test_run import random_colorizer

from vidcolor.errors import DecodeError, InputError
from vidcolor.io.formats import check_output_format, output_pix_fmt


@pytest.fixture(scope="module")
def colorizer():
    return random_colorizer()


HINTS = {0: {"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "#d02020", "size": 0.3}]}}


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "options", "out", "out_codec", "lossless"),
    [
        ("ffv1", "yuv420p10le", {}, "o.mkv", None, True),
        ("ffv1", "yuv422p12le", {}, "o.mkv", "ffv1", False),
        ("ffv1", "yuv444p16le", {}, "o.mkv", "ffv1", False),
        ("libx264", "yuv420p10le", {"qp": "0"}, "o.mp4", None, True),
        ("libx264", "yuv444p10le", {"qp": "0"}, "o.mkv", "x264", True),
        ("prores_ks", "yuv422p10le", {"profile": "3"}, "o.mov", "prores", False),
    ],
)
def test_depth_subsampling_luma_tags_and_timecode_kept(tmp_path, colorizer, codec, pix_fmt,
                                                       options, out, out_codec, lossless):
    src, luma = media.make_deep_clip(tmp_path / f"in_{codec}.mkv" if codec != "prores_ks"
                                     else tmp_path / "in.mov", codec=codec, pix_fmt=pix_fmt,
                                     options=options)
    dst = tmp_path / out
    colorizer.colorize_video(src, dst, HINTS, codec=out_codec, lossless=lossless)
    got, given = media.read_deep(dst), media.read_deep(src)
    assert got["pix_fmt"] == pix_fmt and got["bits"] == given["bits"]
    assert (got["range"], got["colorspace"], got["primaries"], got["trc"]) == (1, 1, 1, 1)
    assert got["timecode"] == "01:02:03:04"
    if codec == "prores_ks":  # lossy on both sides: the luma is the decoded input's, re-coded
        err = np.abs(got["y"].astype(int) - given["y"].astype(int))
        assert err.mean() < 4  # of 1023 codes
    else:
        np.testing.assert_array_equal(got["y"], given["y"])  # every bit of the luma
        np.testing.assert_array_equal(given["y"], luma)
    u = got_chroma_spread(dst)
    assert u > 0  # colored: the chroma is not flat neutral


def got_chroma_spread(path) -> float:
    import av
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        plane = frame.planes[1]
        bits = frame.format.components[1].bits
        arr = np.frombuffer(plane, np.uint16 if bits > 8 else np.uint8)
        return float(np.abs(arr.astype(float) - (1 << (bits - 1))).max())


def test_eight_bit_source_into_prores_is_ten_bit_422_hq(tmp_path, colorizer, make_clip):
    src = make_clip("in8.mp4")
    dst = tmp_path / "o.mov"
    colorizer.colorize_video(src, dst, codec="prores")
    got = media.read_deep(dst)
    assert got["codec"] == "prores" and got["pix_fmt"] == "yuv422p10le"
    shifted = media.read_deep(src)["y"] << 2
    assert np.abs(got["y"].astype(int) - shifted.astype(int)).mean() < 4


@pytest.mark.parametrize(
    ("codec", "src", "want"),
    [
        ("prores_ks", "yuv420p", "yuv422p10le"),
        ("prores_ks", "yuv444p12le", "yuv444p10le"),
        ("libx264", "yuv422p10le", "yuv422p10le"),
        ("libx264", "yuv420p12le", "yuv420p10le"),
        ("libx265", "yuv444p12le", "yuv444p12le"),
        ("ffv1", "yuv420p16le", "yuv420p16le"),
        ("libvpx-vp9", "yuv420p10le", "yuv420p"),
        ("dnxhd", "yuv420p10le", "yuv422p10le"),
        ("libx264", "rgb48be", "yuv420p16le"[:0] + "yuv420p10le"),
    ],
)
def test_output_pix_fmt_keeps_what_the_codec_allows(codec, src, want):
    import av
    bits = av.VideoFormat(src).components[0].bits
    assert output_pix_fmt(codec, 64, 48, src, bits) == want


@pytest.mark.parametrize(
    ("out", "codec", "lossless", "match"),
    [
        ("o.mp4", "prores", False, "found codec 'prores' in a .mp4 file; expected one of"),
        ("o.webm", "x264", False, "found codec 'x264' in a .webm file"),
        ("o.mov", "ffv1", False, "found codec 'ffv1' in a .mov file"),
        ("o.mkv", "prores", True, "lossy only"),
        ("o.avi", None, False, "unsupported output extension"),
    ],
)
def test_impossible_combination_is_one_line_before_any_work(tmp_path, out, codec, lossless,
                                                            match):
    with pytest.raises(InputError, match=match) as info:
        check_output_format(tmp_path / out, codec, lossless)
    assert "\n" not in info.value.one_line()


def test_lossless_picks_ffv1_in_mkv_and_x264_qp0_in_mp4(tmp_path):
    assert check_output_format(tmp_path / "a.mkv", None, True).codec == "ffv1"
    assert check_output_format(tmp_path / "a.mp4", None, True).codec == "libx264"


def test_bad_combination_refused_before_the_input_is_read(tmp_path, colorizer, make_clip):
    src = make_clip("in.mp4")
    with pytest.raises(InputError, match="codec"):
        colorizer.colorize_video(src, tmp_path / "o.mp4", codec="prores")
    assert not (tmp_path / "o.mp4.vidcolor-work").exists()


# --------------------------------------------------------------------------- image sequences


@pytest.mark.parametrize(("ext", "as_pattern"), [(".png", True), (".tif", False)])
def test_sixteen_bit_sequence_in_exact_luma_out(tmp_path, colorizer, ext, as_pattern):
    folder, luma = media.make_image_sequence(tmp_path / "scan", ext=ext)
    src = folder / f"%06d{ext}" if as_pattern else folder
    dst = tmp_path / "o.mkv"
    report = colorizer.colorize_video(src, dst, HINTS, lossless=True, fps="24000/1001")
    assert report.frames == 5
    got = media.read_deep(dst)
    assert got["codec"] == "ffv1" and got["pix_fmt"] == "yuv420p16le" and got["range"] == 2
    np.testing.assert_array_equal(got["y"], luma)  # all 16 bits of the scan's gray
    import av
    with av.open(str(dst)) as c:
        assert c.streams.video[0].average_rate == Fraction(24000, 1001)


def test_sequence_gap_names_the_missing_frame(tmp_path, colorizer):
    folder, _ = media.make_image_sequence(tmp_path / "scan", skip=102)
    with pytest.raises(DecodeError, match=r"frame 102 \(000102.png\) is missing"):
        colorizer.colorize_video(folder / "%06d.png", tmp_path / "o.mkv")
    assert not (tmp_path / "o.mkv").exists()


def test_folder_without_images_is_one_line(tmp_path, colorizer):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DecodeError, match="without numbered images"):
        colorizer.colorize_video(tmp_path / "empty", tmp_path / "o.mkv")


def read_image_luma(path) -> tuple[str, np.ndarray]:
    """An independent PyAV read of one image: its pixel format and BT.709 luma (0..1)."""
    import av
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        rgb = frame.to_ndarray(format="rgb48le").astype(np.float64) / 65535.0
        return frame.format.name, rgb @ np.array([0.2126, 0.7152, 0.0722])


@pytest.mark.parametrize(("ext", "pix_fmt"), [(".png", "rgb48be"), (".tif", "rgb48le"),
                                              (".dpx", "rgb48le")])
def test_sequence_out_keeps_numbering_depth_and_lightness(tmp_path, colorizer, ext, pix_fmt):
    folder, luma = media.make_image_sequence(tmp_path / "scan", frames=4, start=86400)
    out = tmp_path / "out"
    out.mkdir()
    report = colorizer.colorize_video(folder, out / f"%07d{ext}", HINTS)
    assert report.frames == 4
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{n:07d}{ext}" for n in range(86400, 86404)]  # the input's numbers
    got_fmt, got = read_image_luma(out / f"0086401{ext}")
    assert got_fmt == pix_fmt  # 16 bits per channel
    # The lightness is the scan's (the chroma is new; gamut clipping moves a little).
    assert np.abs(got - luma[1] / 65535.0).mean() < 0.01
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "scan"]  # no work left


def test_video_in_sequence_out_counts_from_zero_and_cancel_leaves_nothing(
        tmp_path, colorizer, make_clip):
    src = make_clip("in.mp4", frames=6)
    out = tmp_path / "frames"
    out.mkdir()
    colorizer.colorize_video(src, out / "%04d.png")
    assert sorted(p.name for p in out.iterdir()) == [f"{n:04d}.png" for n in range(6)]
    assert read_image_luma(out / "0000.png")[0] == "rgb24"  # 8-bit source, 8-bit files
    with pytest.raises(InputError, match="existing frame"):  # no overwrite without asking
        colorizer.colorize_video(src, out / "%04d.png")
    other = tmp_path / "other"
    other.mkdir()
    from vidcolor.errors import Cancelled
    with pytest.raises(Cancelled):
        colorizer.colorize_video(src, other / "%04d.png", on_frame=lambda f: f.index < 3)
    assert list(other.iterdir()) == []  # the frames written before the stop are removed


def test_dpx_sequence_timecode_reaches_the_mov(tmp_path, colorizer):
    folder, _ = media.make_image_sequence(tmp_path / "png", frames=3)
    dpx = tmp_path / "dpx"
    dpx.mkdir()
    colorizer.colorize_video(folder, dpx / "%06d.dpx")  # PyAV writes the DPX frames
    for f in dpx.iterdir():
        media.with_dpx_timecode(f, 0x10000012)  # 10:00:00:12, BCD
    dst = tmp_path / "o.mov"
    colorizer.colorize_video(dpx, dst, codec="prores")
    got = media.read_deep(dst)
    assert got["timecode"] == "10:00:00:12"
    assert got["pix_fmt"] == "yuv422p10le"  # RGB scans count as 4:2:0; ProRes 422 HQ


# --------------------------------------------------------------------------- command line


def test_cli_sequence_lossless_fps_and_a_bad_combination(tmp_path, make_clip):
    from test_cli import assert_one_line_error, fast, run
    from test_run import random_weights_file
    weights = random_weights_file(tmp_path / "w.safetensors")
    folder, luma = media.make_image_sequence(tmp_path / "scan", frames=3)
    dst = tmp_path / "o.mkv"
    result = run(folder / "%06d.png", "-o", dst, "--lossless", "--fps", "25", *fast(weights))
    assert result.exit_code == 0, result.stderr
    got = media.read_deep(dst)
    assert got["codec"] == "ffv1" and got["pix_fmt"] == "yuv420p16le"
    np.testing.assert_array_equal(got["y"], luma)
    src = make_clip("in.mp4")
    bad = run(src, "-o", tmp_path / "o.mp4", "--codec", "prores", *fast(weights))
    assert_one_line_error(bad, 2, "o.mp4", "codec", "found codec 'prores'", "expected one of")
    assert not (tmp_path / "o.mp4").exists()
    gap = tmp_path / "scan" / "000101.png"
    gap.unlink()
    assert_one_line_error(run(folder, "-o", tmp_path / "g.mkv", *fast(weights)), 2,
                          "frame 101 (000101.png) is missing")


def read_field_order(path) -> tuple[bool, int]:
    """Interlaced flag of the first frame and the decoder's AVFieldOrder (independent read)."""
    import av
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frame = next(c.decode(s))
        return bool(frame.interlaced_frame), int(s.codec_context.field_order)


def test_interlaced_flag_and_field_order_kept(tmp_path, colorizer, make_clip):
    src = make_clip("il.mp4", interlaced=True)
    dst = tmp_path / "o.mkv"
    colorizer.colorize_video(src, dst)
    flag, order = read_field_order(dst)
    assert flag and (flag, order) == read_field_order(src)


def test_dnxhr_in_mov(tmp_path, colorizer, make_clip):
    src = make_clip("in.mp4", size=(256, 144), frames=3)
    dst = tmp_path / "o.mov"
    colorizer.colorize_video(src, dst, codec="dnxhd")
    got = media.read_deep(dst)
    assert got["codec"] == "dnxhd" and got["pix_fmt"] == "yuv422p"  # DNxHR HQ, 8 bits


def test_exr_sequence_in_sixteen_bit_luma_out(tmp_path, colorizer):
    folder, gray = media.make_exr_sequence(tmp_path / "exr")
    dst = tmp_path / "o.mkv"
    colorizer.colorize_video(folder, dst, lossless=True)
    got = media.read_deep(dst)
    assert got["pix_fmt"] == "yuv420p16le"
    want = np.floor(np.clip(gray, 0, 1) * 65535.0 + 0.5)
    assert np.abs(got["y"].astype(float) - want).max() <= 1  # float -> 16-bit codes


def test_sequence_out_resume_equals_uninterrupted(tmp_path, colorizer):
    import signal

    from vidcolor.api import CancelToken
    from vidcolor.errors import Cancelled
    folder, _ = media.make_image_sequence(tmp_path / "scan", frames=5)
    whole, part = tmp_path / "whole", tmp_path / "part"
    whole.mkdir()
    part.mkdir()
    colorizer.colorize_video(folder, whole / "%06d.png", HINTS)
    token = CancelToken()

    def stop(frame):  # as SIGTERM would: the work folder is kept for --resume
        if frame.index == 2:
            token.cancel("terminated", signal.SIGTERM)

    with pytest.raises(Cancelled):
        colorizer.colorize_video(folder, part / "%06d.png", HINTS, on_frame=stop, cancel=token)
    assert [p.name for p in part.iterdir()] == ["%06d.png.vidcolor-work"]  # no frames left
    report = colorizer.colorize_video(folder, part / "%06d.png", HINTS, resume=True)
    assert report.resumed_shots == 1
    names = sorted(p.name for p in whole.iterdir())
    assert names == sorted(p.name for p in part.iterdir())
    for name in names:
        assert (whole / name).read_bytes() == (part / name).read_bytes()
