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
        # RGB scans hold every sample: 4:4:4 wherever the codec has it.
        ("libx264", "rgb48be", "yuv444p10le"),  # High 4:4:4 Predictive
        ("libx265", "gbrpf32le", "yuv444p12le"),
        ("ffv1", "rgb48le", "yuv444p16le"),
        ("prores_ks", "rgb48le", "yuv444p10le"),  # ProRes 4444
        ("dnxhd", "rgb48le", "yuv444p10le"),  # DNxHR 444
        ("libvpx-vp9", "rgb24", "yuv444p"),  # VP9 profile 1
        ("ffv1", "gray16le", "yuv420p16le"),  # gray has no chroma: the delivery layout
    ],
)
def test_output_pix_fmt_keeps_what_the_codec_allows(codec, src, want):
    import av
    bits = av.VideoFormat(src).components[0].bits
    assert output_pix_fmt(codec, 64, 48, src, bits) == want


@pytest.mark.parametrize(("codec", "src", "chroma", "want"), [
    ("libx264", "rgb48le", "420", "yuv420p10le"),
    ("ffv1", "yuv444p16le", "422", "yuv422p16le"),
    ("prores_ks", "yuv422p10le", "444", "yuv444p10le"),
])
def test_chroma_option_overrides_the_source_layout(codec, src, chroma, want):
    import av
    bits = av.VideoFormat(src).components[0].bits
    assert output_pix_fmt(codec, 64, 48, src, bits, chroma) == want


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
    # An RGB scan is 4:4:4: so is the output, with all 16 bits of the scan's gray.
    assert got["codec"] == "ffv1" and got["pix_fmt"] == "yuv444p16le" and got["range"] == 2
    np.testing.assert_array_equal(got["y"], luma)
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
    # The lightness is the scan's (the chroma is new; gamut clipping of saturated hint
    # colours in RGB output moves it by a few percent at most).
    assert np.abs(got - luma[1] / 65535.0).mean() < 0.03
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
    dpx, luma = media.make_dpx_sequence(tmp_path / "dpx", frames=3,
                                        timecode=0x10000012)  # 10:00:00:12, BCD
    dst = tmp_path / "o.mov"
    colorizer.colorize_video(dpx, dst, codec="prores")
    got = media.read_deep(dst)
    assert got["timecode"] == "10:00:00:12"
    # ProRes is limited range only: the full-range scan's levels become 16..235 (at 12
    # bits, as FFmpeg decodes 4444: 256..3760), and the file says so.
    assert got["range"] == 1
    y12 = 256 + luma.astype(float) * 3504 / 65535
    assert np.abs(got["y"].astype(float) - y12).mean() < 16  # ProRes 4444: lossy
    # An RGB scan is 4:4:4: ProRes 4444 (FFmpeg decodes 4444 as 12 bits).
    assert got["pix_fmt"] == "yuv444p12le" and got["profile"] == "4444", got


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
    assert got["codec"] == "ffv1" and got["pix_fmt"] == "yuv444p16le"
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
    assert got["pix_fmt"] == "yuv444p16le"  # float RGB: 4:4:4, 16 bits
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


# --------------------------------------------------------------------------- MXF sources


@pytest.mark.parametrize(("codec", "options", "out", "out_codec", "exact"), [
    ("ffv1", {}, "o.mkv", "ffv1", True),  # lossless both sides: every luma bit
    ("prores_ks", {"profile": "3"}, "o.mov", "prores", False),  # MXF ProRes -> MOV ProRes
])
def test_mxf_source_keeps_timecode_depth_subsampling_and_tags(tmp_path, colorizer, codec,
                                                              options, out, out_codec, exact):
    src, luma = media.make_deep_clip(tmp_path / "in.mxf", codec=codec, pix_fmt="yuv422p10le",
                                     options=options, timecode="09:59:58:20", rate=25,
                                     colorspace=9, primaries=9, trc=14)
    given = media.read_deep(src)
    assert given["timecode"] == "09:59:58:20"  # the MXF carries it (independent read)
    assert (given["range"], given["colorspace"], given["primaries"], given["trc"]) == (1, 9, 9,
                                                                                        14)
    dst = tmp_path / out
    colorizer.colorize_video(src, dst, HINTS, codec=out_codec)
    got = media.read_deep(dst)
    assert got["timecode"] == "09:59:58:20"
    assert (got["pix_fmt"], got["bits"]) == ("yuv422p10le", 10)
    assert (got["range"], got["colorspace"], got["primaries"], got["trc"]) == (1, 9, 9, 14)
    if exact:
        np.testing.assert_array_equal(got["y"], luma)
    else:  # ProRes on both sides: the decoded input's luma, coded again
        assert np.abs(got["y"].astype(int) - given["y"].astype(int)).mean() < 4


# --------------------------------------------------------------------------- colour tags


@pytest.mark.parametrize(("out", "codec", "want_range"), [
    ("o.mov", "prores", 1),  # ProRes has no full-range flag: written as limited range
    ("o.mov", "dnxhd", 2),  # DNxHR signals full range
    ("o.mov", "x264", 2),
])
def test_full_range_source_levels_in_mezzanine_codecs(tmp_path, colorizer, out, codec,
                                                     want_range):
    src, luma = media.make_deep_clip(tmp_path / "full.mkv", pix_fmt="yuv422p10le",
                                     color_range=2, size=(256, 144), frames=3)
    dst = tmp_path / out
    colorizer.colorize_video(src, dst, HINTS, codec=codec)
    got = media.read_deep(dst)
    assert got["range"] == want_range and got["bits"] == 10
    want = luma.astype(float) if want_range == 2 else 64 + luma.astype(float) * 876 / 1023
    assert np.abs(got["y"].astype(float) - want).mean() < 3  # lossy, levels as tagged


@pytest.mark.parametrize(("tags", "out", "lossless"), [
    ((2, 9, 9, 14), "o.mkv", True),  # full range BT.2020 (10-bit transfer), FFV1
    ((2, 9, 9, 14), "o.mp4", True),  # the same through x264 qp 0 (VUI full-range flag)
    ((1, 6, 6, 6), "o.mkv", True),  # SMPTE 170M, limited
    ((1, 5, 5, 6), "o.mkv", True),  # BT.470 BG (PAL): the same matrix, its own tag kept
])
def test_range_primaries_transfer_and_matrix_kept(tmp_path, colorizer, tags, out, lossless):
    color_range, matrix, primaries, trc = tags
    src, luma = media.make_deep_clip(tmp_path / "in.mkv", pix_fmt="yuv420p10le",
                                     color_range=color_range, colorspace=matrix,
                                     primaries=primaries, trc=trc)
    dst = tmp_path / out
    colorizer.colorize_video(src, dst, HINTS, lossless=lossless)
    got = media.read_deep(dst)
    assert (got["range"], got["colorspace"], got["primaries"], got["trc"]) == tags
    assert got["pix_fmt"] == "yuv420p10le"
    np.testing.assert_array_equal(got["y"], luma)  # full-range codes kept as they are


# --------------------------------------------------------------------------- field order


@pytest.mark.parametrize(("out", "codec", "coded_interlaced"), [
    ("o.mkv", None, True),  # x264 codes the fields and flags the frames
    ("o.mov", "x264", True),
    ("o.mov", "prores", True),  # ProRes field coding, in the source's order
    ("o.mkv", "ffv1", False),  # woven frame, progressive coding; the container's tag kept
    ("o.mkv", "x265", False),
])
def test_field_order_tag_kept_for_every_codec(tmp_path, colorizer, make_clip, out, codec,
                                              coded_interlaced):
    src = make_clip("il.mp4", interlaced=True)
    given = media.read_deep(src)
    assert given["interlaced"] and given["field_order"] == 2  # top field first
    dst = tmp_path / out
    colorizer.colorize_video(src, dst, codec=codec)
    got = media.read_deep(dst)
    assert got["field_order"] == 2
    assert got["interlaced"] == coded_interlaced
    assert got["range"] == 1  # limited, as the source
    if codec == "prores":  # the frame header's interlace_mode: 1 top field first, 2 bottom
        assert media.read_prores_interlace_modes(dst) == {1}


def test_bottom_field_first_prores(tmp_path, colorizer):
    src, _ = media.make_deep_clip(tmp_path / "bff.mov", codec="prores_ks", frames=3,
                                  pix_fmt="yuv422p10le", interlace="bff",
                                  options={"profile": "3", "flags": "+ildct"})
    given = media.read_deep(src)
    assert given["interlaced"] and given["field_order"] == 3  # bottom first
    assert media.read_prores_interlace_modes(src) == {2}
    dst = tmp_path / "o.mov"
    colorizer.colorize_video(src, dst, codec="prores")
    got = media.read_deep(dst)
    assert got["interlaced"] and got["field_order"] == 3
    assert media.read_prores_interlace_modes(dst) == {2}


# --------------------------------------------------------------------------- timecode


def test_timecode_counts_frames_and_drop_frame():
    from vidcolor.io import timecode as tc
    assert tc.offset("00:59:59:23", 1, 24) == "01:00:00:00"
    assert tc.offset("23:59:59:24", 1, 25) == "00:00:00:00"  # wraps at 24 hours
    ntsc = Fraction(30000, 1001)
    assert tc.offset("00:00:59;29", 1, ntsc) == "00:01:00;02"  # ;00 and ;01 are skipped
    assert tc.offset("00:09:59;29", 1, ntsc) == "00:10:00;00"  # but not every tenth minute
    assert tc.to_frames("01:00:00;00", ntsc) == 107892  # 30 * 3600 - 18 * 6 drops
    assert tc.from_frames(107892, ntsc, drop=True) == "01:00:00;00"
    assert tc.to_bcd("10:00:00:12") == 0x10000012 and tc.from_bcd(0x10000012) == "10:00:00:12"
    assert tc.from_bcd(0xFFFFFFFF) is None


def test_video_timecode_reaches_every_dpx_frame(tmp_path, colorizer):
    src, luma = media.make_deep_clip(tmp_path / "in.mov", codec="prores_ks",
                                     pix_fmt="yuv422p10le", options={"profile": "3"},
                                     frames=4, timecode="00:59:59:22")
    out = tmp_path / "out"
    out.mkdir()
    colorizer.colorize_video(src, out / "%06d.dpx", HINTS)
    ffmpeg, header = media.read_dpx_timecodes(out / "%06d.dpx", 0)
    want = ["00:59:59:22", "00:59:59:23", "01:00:00:00", "01:00:00:01"]
    assert ffmpeg == want and header == want  # FFmpeg's DPX decoder and the raw header
    fmt, lightness = read_image_luma(out / "000002.dpx")
    assert fmt == "rgb48le"  # 16 bits from a 10-bit source
    y10 = (luma[2].astype(float) - 64) / 876  # the limited-range source's lightness
    assert np.abs(lightness - y10).mean() < 0.01


def test_drop_frame_timecode_in_dpx(tmp_path, colorizer):
    src, _ = media.make_deep_clip(tmp_path / "in.mov", codec="prores_ks", frames=3,
                                  pix_fmt="yuv422p10le", options={"profile": "3"},
                                  timecode="00:00:59;28", rate=Fraction(30000, 1001))
    out = tmp_path / "out"
    out.mkdir()
    colorizer.colorize_video(src, out / "%04d.dpx")
    ffmpeg, header = media.read_dpx_timecodes(out / "%04d.dpx", 0)
    want = ["00:00:59;28", "00:00:59;29", "00:01:00;02"]
    assert ffmpeg == want and header == want


def test_dpx_sequence_in_dpx_out_keeps_numbers_timecode_and_depth(tmp_path, colorizer):
    folder, luma = media.make_dpx_sequence(tmp_path / "scan", frames=3, start=86400,
                                           timecode=0x01000010)  # 01:00:00:10, BCD
    out = tmp_path / "out"
    out.mkdir()
    colorizer.colorize_video(folder, out / "%06d.dpx", HINTS, fps=24)
    assert sorted(p.name for p in out.iterdir()) == [f"{n:06d}.dpx" for n in (86400, 86401,
                                                                             86402)]
    ffmpeg, header = media.read_dpx_timecodes(out / "%06d.dpx", 86400)
    assert ffmpeg == header == ["01:00:00:10", "01:00:00:11", "01:00:00:12"]
    fmt, lightness = read_image_luma(out / "086401.dpx")
    assert fmt == "rgb48le" and np.abs(lightness - luma[1] / 65535.0).mean() < 0.03


def test_png_output_says_the_timecode_is_not_carried(tmp_path, colorizer, caplog):
    src, _ = media.make_deep_clip(tmp_path / "in.mkv", frames=2, timecode="01:02:03:04")
    out = tmp_path / "out"
    out.mkdir()
    with caplog.at_level("WARNING", logger="vidcolor"):
        colorizer.colorize_video(src, out / "%04d.png")
    notes = [r.getMessage() for r in caplog.records if "timecode" in r.getMessage()]
    assert len(notes) == 1 and "01:02:03:04 is not carried" in notes[0]
    assert len(list(out.iterdir())) == 2


# --------------------------------------------------------------------------- 4:4:4 scans


def test_rgb_scan_into_default_mp4_is_444_and_says_where_it_plays(tmp_path, colorizer, caplog):
    folder, luma = media.make_image_sequence(tmp_path / "scan", frames=3)
    dst = tmp_path / "o.mp4"
    with caplog.at_level("WARNING", logger="vidcolor"):
        colorizer.colorize_video(folder, dst, HINTS)
    got = media.read_deep(dst)
    assert got["codec"] == "h264" and got["pix_fmt"] == "yuv444p10le"
    assert got["profile"].startswith("High 4:4:4")
    y10 = np.floor(luma.astype(float) * 1023 / 65535 + 0.5)  # full range, 16 -> 10 bits
    assert np.abs(got["y"].astype(float) - y10).mean() < 4  # x264 crf 16, of 1023 codes
    (note,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "at most 10 bits" in note and "not in most web browsers" in note
    web = tmp_path / "web.mp4"
    colorizer.colorize_video(folder, web, HINTS, chroma="420")
    assert media.read_deep(web)["pix_fmt"] == "yuv420p10le"


def test_rgb_scan_into_prores_is_4444(tmp_path, colorizer):
    folder, _ = media.make_image_sequence(tmp_path / "scan", ext=".tif", frames=2)
    dst = tmp_path / "o.mov"
    colorizer.colorize_video(folder, dst, HINTS, codec="prores")
    got = media.read_deep(dst)
    assert got["profile"] == "4444" and got["pix_fmt"].startswith("yuv444p")


# --------------------------------------------------------------------------- early refusals


def test_dnxhr_below_its_smallest_picture_is_refused_before_any_work(tmp_path, colorizer,
                                                                     make_clip):
    src = make_clip("small.mp4", size=(192, 108), frames=3)
    dst = tmp_path / "o.mov"
    with pytest.raises(InputError, match="found a 192x108 picture; DNxHR needs at least "
                                         "256x120") as info:
        colorizer.colorize_video(src, dst, codec="dnxhd")
    assert "\n" not in info.value.one_line()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.mp4"]  # no work, no output


def test_odd_picture_with_chroma_420_is_refused_before_any_work(tmp_path, colorizer):
    src, _ = media.make_deep_clip(tmp_path / "odd.mkv", pix_fmt="yuv444p10le", size=(65, 49),
                                  frames=2)
    with pytest.raises(InputError, match="found a 65x49 picture; x264 4:2:0 needs an even"):
        colorizer.colorize_video(src, tmp_path / "o.mp4", chroma="420")
    colorizer.colorize_video(src, tmp_path / "o.mp4")  # the source's 4:4:4 works
    assert media.read_deep(tmp_path / "o.mp4")["pix_fmt"] == "yuv444p10le"


@pytest.mark.parametrize(("out", "codec", "chroma", "match"), [
    ("o.mov", "prores", "420", "found --chroma 420 with codec prores; expected one of 4:2:2, "
                               "4:4:4"),
    ("o.mov", "dnxhd", "420", "found --chroma 420 with codec dnxhd"),
])
def test_chroma_the_codec_lacks_is_one_line(tmp_path, out, codec, chroma, match):
    with pytest.raises(InputError, match=match) as info:
        check_output_format(tmp_path / out, codec, False, chroma)
    assert "\n" not in info.value.one_line()


@pytest.mark.parametrize("garbage", [-8725857424048159, 0x7F7F7F7F7F7F7F80])
def test_garbage_decode_timestamps_are_mended_and_real_ones_kept(garbage):
    """libx265's uninitialised DTS (either sign) becomes the PTS; a reordered DTS stays."""
    from types import SimpleNamespace

    from vidcolor.io.encode import VideoWriter
    muxed = []
    writer = SimpleNamespace(_last_dts=None, _out=SimpleNamespace(mux=muxed.append))
    tb = Fraction(1, 1000)
    packets = [SimpleNamespace(pts=p, dts=garbage + p, time_base=tb) for p in (0, 42)]
    packets += [SimpleNamespace(pts=125, dts=83, time_base=tb)]  # B-frame reordering
    for packet in packets:
        VideoWriter._mux_video(writer, packet)
    assert [(p.pts, p.dts) for p in muxed] == [(0, 0), (42, 42), (125, 83)]


# (pix_fmt, size): 8-bit 4:2:0, odd-sized 10-bit 4:2:2, 12-bit 4:4:4. Two frames: there
# libx265 hands out garbage DTS, which the writer must mend (the muxers refuse it).
SWEEP_SOURCES = (
    ("yuv420p", (64, 48)), ("yuv422p10le", (65, 49)), ("yuv444p12le", (64, 48)),
    ("yuv420p10le", (256, 120)),  # DNxHR's smallest picture
)


@pytest.fixture(scope="module")
def sweep_sources(tmp_path_factory):
    from vidcolor.io.probe import probe
    folder = tmp_path_factory.mktemp("sweep")
    out = {}
    for pix_fmt, size in SWEEP_SOURCES:
        src, luma = media.make_deep_clip(folder / f"{pix_fmt}_{size[0]}.mkv", pix_fmt=pix_fmt,
                                         size=size, frames=2)
        out[(pix_fmt, size)] = (probe(src), luma)
    return out


def test_every_table_combination_is_refused_up_front_or_writes(tmp_path, sweep_sources):
    """No container x codec x source fails late: the check refuses it, or it writes."""
    from vidcolor.frames import FrameTime
    from vidcolor.io.encode import VideoWriter
    from vidcolor.io.formats import CONTAINERS, _user_name
    from vidcolor.options import EncodeOptions
    refused = set()
    for suffix, (_, _, _, codecs) in CONTAINERS.items():
        for codec in codecs:
            for (pix_fmt, size), (info, luma) in sweep_sources.items():
                dst = tmp_path / f"{_user_name(codec)}_{pix_fmt}_{size[0]}{suffix}"
                writer = VideoWriter(dst, info, EncodeOptions(codec=_user_name(codec)))
                try:
                    writer.check()
                except InputError as exc:
                    assert "\n" not in exc.one_line()
                    refused.add((codec, size))
                    continue
                with writer:
                    for i, y in enumerate(luma):
                        y = y.astype(np.uint8) if info.bit_depth == 8 else y
                        mid = np.full((size[1], size[0]), 1 << (writer.bit_depth - 1),
                                      np.uint8 if writer.bit_depth == 8 else np.uint16)
                        writer.write(FrameTime(i, i, info.time_base), y, mid, mid)
                got = media.read_deep(dst)
                assert got["y"].shape[0] == 2, dst.name
                assert got["pix_fmt"][:8] == writer.pix_fmt[:8], dst.name  # layout kept
    assert refused == {("dnxhd", (64, 48)), ("dnxhd", (65, 49))}


def test_cli_refuses_dnxhr_too_small_and_a_chroma_the_codec_lacks(tmp_path, make_clip):
    from test_cli import assert_one_line_error, fast, run
    from test_run import random_weights_file
    weights = random_weights_file(tmp_path / "w.safetensors")
    src = make_clip("in.mp4")  # 64x48
    small = run(src, "-o", tmp_path / "o.mov", "--codec", "dnxhd", *fast(weights))
    assert_one_line_error(small, 2, "o.mov", "codec", "found a 64x48 picture",
                          "DNxHR needs at least 256x120")
    chroma = run(src, "-o", tmp_path / "p.mov", "--codec", "prores", "--chroma", "420",
                 *fast(weights))
    assert_one_line_error(chroma, 2, "p.mov", "chroma", "found --chroma 420 with codec prores")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "w.safetensors"]


def test_an_encoder_refusal_without_a_rule_is_still_one_line_up_front(tmp_path):
    from vidcolor.io.encode import VideoWriter
    from vidcolor.io.probe import probe
    from vidcolor.options import EncodeOptions
    src, _ = media.make_deep_clip(tmp_path / "tiny.mkv", pix_fmt="yuv420p", size=(8, 8),
                                  frames=1)
    writer = VideoWriter(tmp_path / "o.mkv", probe(src), EncodeOptions(codec="x265"))
    with pytest.raises(InputError, match="found a 8x8 yuv420p picture, which the libx265 "
                                         "encoder refuses") as info:
        writer.check()  # x265 has no picture this small; no rule names it, the trial does
    assert "\n" not in info.value.one_line()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.mkv"]


def test_chroma_with_an_image_sequence_output_is_one_line(tmp_path):
    from vidcolor.io.sequence_writer import check_output
    from vidcolor.options import EncodeOptions
    with pytest.raises(InputError, match="found --codec/--lossless/--chroma with an "
                                         "image-sequence output") as info:
        check_output(tmp_path / "%06d.dpx", EncodeOptions(chroma="420"))
    assert "\n" not in info.value.one_line()
