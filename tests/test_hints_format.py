"""Hint files, version 1: every valid example is accepted, every invalid one is rejected
with one message naming the file, the field and what was expected."""

from __future__ import annotations

import json
import logging
import struct
import zlib

import cv2
import numpy as np
import pytest

from vidcolor.color import rgb_to_lab
from vidcolor.errors import HintError, InputError, OutputError
from vidcolor.hints.colors import CSS_COLORS, css_color
from vidcolor.hints.format import load_hints, parse_hints, parse_hints_text
from vidcolor.hints.template import write_template
from vidcolor.imagefile import image_size, read_image

SPEC_EXAMPLE = {
    "version": 1,
    "frame": 120,
    "points": [
        {"x": 0.52, "y": 0.31, "color": "#7a4b2c"},
        {"x": 0.10, "y": 0.90, "color": [34, 139, 34], "size": 0.02},
        {"x": 0.75, "y": 0.40, "ab": [12.5, -30.0]},
        {"x": 0.33, "y": 0.66, "color": "steelblue"},
    ],
    "reference": "sunset.jpg",
}


def ab_of(rgb):
    lab = rgb_to_lab(np.array([[rgb]], np.uint8))
    return float(lab[0, 0, 1]), float(lab[0, 0, 2])


def write_json(directory, name, data):
    path = directory / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def write_rgba(path, rgba):
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    assert ok
    path.write_bytes(buf.tobytes())
    return path


@pytest.fixture
def spec_dir(tmp_path):
    write_json(tmp_path, "120.json", SPEC_EXAMPLE)
    ref = np.zeros((30, 40, 3), np.uint8)
    ref[:] = (200, 120, 40)
    cv2.imwrite(str(tmp_path / "sunset.jpg"), cv2.cvtColor(ref, cv2.COLOR_RGB2BGR))
    return tmp_path


def test_spec_example_loads_with_exact_colors(spec_dir):
    hints = load_hints(spec_dir)
    assert hints.frame_indices == (120,)
    frame = hints.get(120)
    assert frame.frame == 120
    xs = [(p.x, p.y) for p in frame.points]
    assert xs == [(0.52, 0.31), (0.10, 0.90), (0.75, 0.40), (0.33, 0.66)]
    a0, b0 = frame.points[0].ab
    assert (a0, b0) == pytest.approx(ab_of((0x7A, 0x4B, 0x2C)), abs=1e-4)
    assert frame.points[1].ab == pytest.approx(ab_of((34, 139, 34)), abs=1e-4)
    assert frame.points[1].size == 0.02
    assert frame.points[2].ab == (12.5, -30.0)
    assert frame.points[2].size is None
    assert frame.points[3].ab == pytest.approx(ab_of((70, 130, 180)), abs=1e-4)
    assert frame.reference.name == "sunset.jpg"
    assert frame.reference_rgb.shape == (30, 40, 3)
    # JPEG is lossy, but the flat color survives within a few levels.
    assert np.abs(frame.reference_rgb.astype(int) - (200, 120, 40)).max() <= 4


def test_hex_names_and_lists_agree():
    pts = parse_hints({"version": 1, "points": [
        {"x": 0, "y": 0, "color": "#4682B4"},
        {"x": 1, "y": 1, "color": "SteelBlue"},
        {"x": 0.5, "y": 0.5, "color": [70, 130, 180]},
    ]}, frame=3).points
    assert pts[0].ab == pts[1].ab == pts[2].ab


def test_full_css_named_color_list():
    assert len(CSS_COLORS) == 148
    for name in ("rebeccapurple", "lightgoldenrodyellow", "grey", "gray", "darkslategrey"):
        assert css_color(name) is not None
    assert css_color("rebeccapurple") == (102, 51, 153)
    assert css_color("transparent") is None
    for name, rgb in CSS_COLORS.items():
        pt = parse_hints({"version": 1, "points": [{"x": 0, "y": 0, "color": name}]},
                         frame=0).points[0]
        assert pt.ab == pytest.approx(ab_of(rgb), abs=1e-4)


def test_only_chroma_is_kept():
    # Black, gray and white have (almost) no chroma whatever their lightness.
    for name in ("black", "gray", "white"):
        pt = parse_hints({"version": 1, "points": [{"x": 0, "y": 0, "color": name}]},
                         frame=0).points[0]
        assert abs(pt.ab[0]) < 0.6 and abs(pt.ab[1]) < 0.6


def test_empty_points_and_zero_padding(tmp_path):
    write_json(tmp_path, "000007.json", {"version": 1, "frame": 7, "points": []})
    write_json(tmp_path, "12.json", {"version": 1, "points": []})
    hints = load_hints(tmp_path)
    assert hints.frame_indices == (7, 12)
    assert hints.get(7).points == ()


def test_json_and_png_of_one_frame_are_combined(tmp_path):
    write_json(tmp_path, "5.json", {"version": 1, "points": [{"x": 0.5, "y": 0.5, "ab": [1, 2]}]})
    layer = np.zeros((10, 20, 4), np.uint8)
    layer[2:4, 3:6] = (255, 0, 0, 255)
    write_rgba(tmp_path / "00005.png", layer)
    frame = load_hints(tmp_path).get(5)
    assert len(frame.points) == 1
    assert frame.scribble.shape == (10, 20, 4)
    np.testing.assert_array_equal(frame.scribble, layer)
    assert len(frame.sources) == 2


def test_other_names_are_ignored_with_a_warning(tmp_path, caplog):
    write_json(tmp_path, "1.json", {"version": 1, "points": [], "reference": "ref.png"})
    cv2.imwrite(str(tmp_path / "ref.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "frame_2.json").write_text("{}")
    (tmp_path / "refs").mkdir()
    with caplog.at_level(logging.WARNING, logger="vidcolor.hints"):
        hints = load_hints(tmp_path)
    assert hints.ignored == ("frame_2.json", "notes.txt")
    text = caplog.text
    assert "notes.txt" in text and "frame_2.json" in text
    assert "ref.png" not in text  # referenced images are not "other files"


def test_unknown_keys_warn_but_load(caplog):
    with caplog.at_level(logging.WARNING, logger="vidcolor.hints"):
        hints = parse_hints({"version": 1, "author": "me", "points": [
            {"x": 0, "y": 0, "ab": [0, 0], "label": "sky"}]}, source="a.json", frame=0)
    assert len(hints.points) == 1
    assert '"author"' in caplog.text and '"label"' in caplog.text and "a.json" in caplog.text


def test_frame_past_the_end(tmp_path):
    write_json(tmp_path, "30.json", {"version": 1, "points": []})
    hints = load_hints(tmp_path)
    hints.check_frame_count(31)
    with pytest.raises(HintError) as err:
        hints.check_frame_count(30)
    assert "30.json" in str(err.value) and "0..29" in str(err.value)


BAD_CASES = [
    ("[1, 2]", "", "expected a JSON object"),
    ('{"points": []}', "version", "missing"),
    ('{"version": 2, "points": []}', "version", "expected 1"),
    ('{"version": "1", "points": []}', "version", "expected 1"),
    ('{"version": true, "points": []}', "version", "expected 1"),
    ('{"version": 1}', "points", "expected a list"),
    ('{"version": 1, "points": {}}', "points", "expected a list"),
    ('{"version": 1, "frame": 8, "points": []}', "frame", "expected 7"),
    ('{"version": 1, "frame": -1, "points": []}', "frame", "integer >= 0"),
    ('{"version": 1, "points": [3]}', "points[0]", "expected an object"),
    ('{"version": 1, "points": [{"y": 0, "ab": [0, 0]}]}', "points[0].x", "missing"),
    ('{"version": 1, "points": [{"x": 0, "ab": [0, 0]}]}', "points[0].y", "missing"),
    ('{"version": 1, "points": [{"x": 1.5, "y": 0, "ab": [0, 0]}]}', "points[0].x", "[0.0, 1.0]"),
    ('{"version": 1, "points": [{"x": 0, "y": -0.1, "ab": [0, 0]}]}', "points[0].y", "[0.0, 1.0]"),
    ('{"version": 1, "points": [{"x": "0", "y": 0, "ab": [0, 0]}]}', "points[0].x", "number"),
    ('{"version": 1, "points": [{"x": NaN, "y": 0, "ab": [0, 0]}]}', "points[0].x", "number"),
    ('{"version": 1, "points": [{"x": true, "y": 0, "ab": [0, 0]}]}', "points[0].x", "number"),
    ('{"version": 1, "points": [{"x": 0, "y": 0}]}', "points[0]", "neither color nor ab"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "ab": [0, 0], "color": "red"}]}', "points[0]",
     "both color and ab"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "ab": [0, 200]}]}', "points[0].ab[1]",
     "[-128.0, 127.0]"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "ab": [0]}]}', "points[0].ab", "[a, b]"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "color": "#12345"}]}', "points[0].color",
     "#rrggbb"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "color": "reddish"}]}', "points[0].color",
     "CSS color name"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "color": [1, 2]}]}', "points[0].color",
     "[r, g, b]"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "color": [1, 2, 256]}]}', "points[0].color[2]",
     "integer 0-255"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "color": [1, 2.5, 3]}]}', "points[0].color[1]",
     "integer 0-255"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "ab": [0, 0], "size": 0}]}', "points[0].size",
     "(0.0, 1.0]"),
    ('{"version": 1, "points": [{"x": 0, "y": 0, "ab": [0, 0], "size": 1.01}]}',
     "points[0].size", "(0.0, 1.0]"),
    ('{"version": 1, "points": [], "reference": 5}', "reference", "image path"),
    ('{"version": 1, "points": [], "reference": ""}', "reference", "image path"),
    ('{"version": 1, "points": [', "", "invalid JSON"),
    (b'\xff\xfe{"version": 1}', "", "JSON"),
]


@pytest.mark.parametrize(("text", "field", "expected"), BAD_CASES)
def test_invalid_files_name_file_field_and_expectation(tmp_path, text, field, expected):
    path = tmp_path / "7.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(HintError) as err:
        load_hints(tmp_path)
    error = err.value
    assert isinstance(error, InputError) and error.exit_code == 2
    message = str(error)
    assert "\n" not in message
    assert error.path == str(path) and message.startswith(str(path))
    if field:
        assert error.field == field and f": {field}: " in message
    assert expected in message


def test_second_point_error_names_its_index():
    data = {"version": 1, "points": [{"x": 0, "y": 0, "ab": [0, 0]}] * 2
            + [{"x": 0, "y": 2, "ab": [0, 0]}]}
    with pytest.raises(HintError) as err:
        parse_hints(data, source="h/3.json", frame=3)
    assert err.value.field == "points[2].y"
    assert "found 2" in str(err.value)


def test_parse_hints_text_matches_parse_hints():
    text = json.dumps(SPEC_EXAMPLE)
    a = parse_hints_text(text, frame=120)
    b = parse_hints(SPEC_EXAMPLE, frame=120)
    assert a.points == b.points


def test_reference_must_exist_and_be_an_image(tmp_path):
    write_json(tmp_path, "1.json", {"version": 1, "points": [], "reference": "missing.jpg"})
    with pytest.raises(HintError) as err:
        load_hints(tmp_path)
    assert err.value.field == "reference" and "missing.jpg" in str(err.value)
    (tmp_path / "missing.jpg").write_bytes(b"not an image at all")
    with pytest.raises(HintError) as err:
        load_hints(tmp_path)
    assert err.value.field == "reference" and "PNG, JPEG" in str(err.value)


def test_duplicate_frame_files_are_an_error(tmp_path):
    write_json(tmp_path, "7.json", {"version": 1, "points": []})
    write_json(tmp_path, "007.json", {"version": 1, "points": []})
    with pytest.raises(HintError, match="two files name frame 7"):
        load_hints(tmp_path)


def test_unreadable_directory(tmp_path):
    with pytest.raises(HintError, match="not a directory"):
        load_hints(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(HintError, match="not a directory"):
        load_hints(tmp_path / "file")


def test_malformed_png_is_rejected(tmp_path):
    (tmp_path / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(HintError) as err:
        load_hints(tmp_path)
    assert err.value.path == str(tmp_path / "3.png")
    (tmp_path / "3.png").write_bytes(b"GIF89a....")
    with pytest.raises(HintError, match="expected PNG, JPEG, WebP"):
        load_hints(tmp_path)


def bomb_png(width: int, height: int) -> bytes:
    """A tiny, valid PNG claiming a huge RGBA picture (all-zero rows, deflated)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 4 * width)
    body = b"".join(compressor.compress(row) for _ in range(min(height, 64)))
    body += compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    (tmp_path / "4.png").write_bytes(bomb_png(30000, 30000))
    with pytest.raises(HintError) as err:
        load_hints(tmp_path)
    assert str(30000 * 30000) in str(err.value) and "decompression bomb" in str(err.value)
    # The same guard protects reference images.
    ref_dir = tmp_path / "r"
    ref_dir.mkdir()
    (ref_dir / "big.png").write_bytes(bomb_png(20000, 20000))
    write_json(ref_dir, "1.json", {"version": 1, "points": [], "reference": "big.png"})
    with pytest.raises(HintError, match="decompression bomb"):
        load_hints(ref_dir)


def test_header_sizes_of_all_formats(tmp_path):
    img = np.zeros((13, 21, 3), np.uint8)
    for ext in (".png", ".jpg", ".bmp", ".webp"):
        assert cv2.imwrite(str(tmp_path / f"x{ext}"), img)
        assert image_size(tmp_path / f"x{ext}", error=HintError) == (21, 13)


def test_png_variants_read_as_rgba(tmp_path):
    rgba = np.zeros((6, 9, 4), np.uint8)
    rgba[1, 2] = (10, 20, 30, 200)
    got = read_image(write_rgba(tmp_path / "a.png", rgba), error=HintError)
    np.testing.assert_array_equal(got, rgba)
    deep = (rgba.astype(np.uint16) * 257)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(deep, cv2.COLOR_RGBA2BGRA))
    (tmp_path / "b.png").write_bytes(buf.tobytes())
    np.testing.assert_array_equal(read_image(tmp_path / "b.png", error=HintError), rgba)


def test_png_without_alpha_is_ignored_with_warning(tmp_path, caplog):
    cv2.imwrite(str(tmp_path / "2.png"), np.full((8, 8, 3), 128, np.uint8))
    with caplog.at_level(logging.WARNING, logger="vidcolor.hints"):
        hints = load_hints(tmp_path)
    assert len(hints) == 0
    assert "2.png" in caplog.text and "alpha" in caplog.text


def test_template_round_trip(tmp_path):
    frames = [(0, np.full((12, 16, 3), 90, np.uint8)), (120, np.zeros((12, 16), np.uint8))]
    written = write_template(tmp_path / "hints", frames)
    names = sorted(p.name for p in written)
    assert names == ["000000.json", "000000.png", "000120.json", "000120.png"]
    assert json.loads((tmp_path / "hints" / "000120.json").read_text()) == {
        "version": 1, "frame": 120, "points": []}
    exported = cv2.imread(str(tmp_path / "hints" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert exported.shape == (12, 16, 3) and int(exported[0, 0, 0]) == 90
    hints = load_hints(tmp_path / "hints")  # the exports are not scribbles
    assert hints.frame_indices == (0, 120)
    assert all(h.points == () and h.scribble is None for h in hints)
    assert not [p for p in (tmp_path / "hints").iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(OutputError) as err:
        write_template(tmp_path / "hints", frames[:1])
    assert "exists" in str(err.value)
    write_template(tmp_path / "hints", frames[:1], overwrite=True)


def test_gray_alpha_and_palette_pngs_are_scribbles(tmp_path):
    image = pytest.importorskip("PIL.Image")
    la = np.zeros((4, 5, 2), np.uint8)
    la[1, 1] = (200, 255)
    image.fromarray(la, "LA").save(tmp_path / "1.png")
    pal = image.new("P", (5, 4))
    pal.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pal.putpixel((1, 1), 1)
    pal.save(tmp_path / "2.png", transparency=0)
    hints = load_hints(tmp_path)
    one, two = hints.get(1).scribble, hints.get(2).scribble
    assert one.shape == two.shape == (4, 5, 4)
    assert tuple(one[1, 1]) == (200, 200, 200, 255) and one[0, 0, 3] == 0
    assert tuple(two[1, 1]) == (0, 255, 0, 255) and two[0, 0, 3] == 0


def test_special_files_are_refused_not_read(tmp_path):
    import os

    os.mkfifo(tmp_path / "3.json")  # reading a FIFO would block forever
    with pytest.raises(HintError, match="not a regular file"):
        load_hints(tmp_path)
    (tmp_path / "3.json").unlink()
    os.symlink("/dev/zero", tmp_path / "4.png")  # reading it would never end
    with pytest.raises(HintError, match="not a regular file"):
        load_hints(tmp_path)


def test_folder_named_like_a_hint_file_is_an_error(tmp_path):
    (tmp_path / "3.json").mkdir()
    with pytest.raises(HintError, match="is a folder"):
        load_hints(tmp_path)


def test_truncated_png_gives_one_clean_error(tmp_path, capfd):
    layer = np.zeros((48, 64, 4), np.uint8)
    layer[::3, ::5] = (255, 0, 0, 255)
    whole = write_rgba(tmp_path / "full.png", layer).read_bytes()
    (tmp_path / "full.png").unlink()
    (tmp_path / "3.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(HintError) as err:
        load_hints(tmp_path)
    assert err.value.path == str(tmp_path / "3.png") and "decoded" in str(err.value)
    assert "WARN" not in capfd.readouterr().err  # OpenCV's own log is silenced
