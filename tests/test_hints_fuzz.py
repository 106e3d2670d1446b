"""Property-based fuzzing of the hint parser: for ANY JSON value or text, parse_hints either
returns valid hints or raises HintError; nothing else ever escapes."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidcolor.errors import HintError
from vidcolor.hints.colors import CSS_COLORS
from vidcolor.hints.format import FrameHints, parse_hints, parse_hints_text

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=12))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)

# Values that are often right and sometimes subtly wrong, to reach the deep branches.
numbers = (st.floats(-0.5, 1.5) | st.integers(-2, 2) | st.sampled_from(
    [0, 1, 0.0, 1.0, -0.0, 1e-300, 10**30, float("nan"), float("inf"), True, "0.5", None]))
colors = (st.sampled_from(sorted(CSS_COLORS)) | st.sampled_from(
    ["#7a4b2c", "#7A4B2C", "#12345", "#1234567", "#gggggg", "", "steel blue", "red "])
    | st.lists(st.integers(-5, 260) | st.floats(0, 255) | st.booleans(), max_size=4)
    | json_values)
abs_ = st.lists(st.floats(-200, 200) | st.just(float("nan")) | st.integers(-200, 200) | json_values,
                max_size=3) | json_values
noisy_point = st.fixed_dictionaries(
    {"x": numbers, "y": numbers},
    optional={"color": colors, "ab": abs_, "size": numbers | json_values,
              "extra": json_values},
)
valid_color = (st.sampled_from(sorted(CSS_COLORS))
               | st.integers(0, 0xFFFFFF).map(lambda c: f"#{c:06x}")
               | st.lists(st.integers(0, 255), min_size=3, max_size=3))
valid_ab = st.lists(st.floats(-128, 127), min_size=2, max_size=2)
unit = st.floats(0, 1)
valid_point = st.one_of(
    st.fixed_dictionaries({"x": unit, "y": unit, "color": valid_color},
                          optional={"size": st.floats(0.001, 1)}),
    st.fixed_dictionaries({"x": unit, "y": unit, "ab": valid_ab},
                          optional={"size": st.floats(0.001, 1)}),
)
point = st.one_of(valid_point, valid_point, valid_point, noisy_point)
documents = st.fixed_dictionaries(
    {"version": st.sampled_from([1] * 8 + [2, 1.0, "1", True, None]),
     "points": st.lists(point, max_size=4) | st.lists(point | json_values, max_size=3)},
    optional={
        "frame": st.sampled_from([5] * 6 + [0, -1, 5.0, "5", 10**20, None, True]),
        "reference": st.sampled_from(["sunset.jpg"] * 4 + ["", 5, None, ["a"]]),
        "comment": json_values,
    },
) | st.fixed_dictionaries(
    {"version": st.sampled_from([1, 2]), "points": json_values},
    optional={"frame": json_values, "reference": json_values},
)


def check(result: FrameHints) -> None:
    """A parse that succeeds must give values inside the documented ranges."""
    assert isinstance(result, FrameHints)
    assert isinstance(result.frame, int) and result.frame >= 0
    for p in result.points:
        assert 0.0 <= p.x <= 1.0 and 0.0 <= p.y <= 1.0
        assert all(math.isfinite(v) and -128.5 <= v <= 127.5 for v in p.ab)
        assert p.size is None or 0.0 < p.size <= 1.0
        assert p.weight == 1.0


def parse_or_hint_error(data, frame=5) -> None:
    try:
        result = parse_hints(data, source="fuzz.json", frame=frame)
    except HintError as exc:
        assert str(exc).startswith("fuzz.json")
        assert "\n" not in str(exc)
    else:
        check(result)


@SETTINGS
@given(json_values)
def test_any_json_value(data):
    parse_or_hint_error(data)


@SETTINGS
@given(documents, st.sampled_from([None, 0, 5]))
def test_near_valid_documents(data, frame):
    if frame is None and "frame" not in data:
        frame = 0
    parse_or_hint_error(data, frame=frame)


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text(raw):
    try:
        result = parse_hints_text(raw, source="fuzz.json", frame=0)
    except HintError:
        pass
    else:
        check(result)


@SETTINGS
@given(documents)
def test_serialized_documents(data):
    text = json.dumps(data)
    try:
        result = parse_hints_text(text, source="fuzz.json", frame=5)
    except HintError:
        pass
    else:
        check(result)


def test_deep_nesting_is_a_hint_error():
    try:
        parse_hints_text("[" * 100000 + "]" * 100000, source="deep.json", frame=0)
    except HintError as exc:
        assert "deep.json" in str(exc)
    else:
        raise AssertionError("a list is not a hint document")


def test_valid_documents_are_accepted():
    # A guard against a parser that rejects everything (which would pass the fuzz tests).
    ok = parse_hints({"version": 1, "points": [{"x": 1, "y": 0, "color": [0, 0, 255]}]},
                     frame=0)
    assert len(ok.points) == 1 and ok.points[0].ab[1] < -100
