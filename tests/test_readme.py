"""The README's examples run: every ```python block, every ``vidcolor ...`` line of the
```sh blocks (except a block preceded by ``<!-- no-test -->``), and the JSON examples parse.

The examples name ``film.mp4``, ``hints/``, ``still.png`` and ``still.json``; each block
runs in a fresh folder holding tiny generated versions of them, with small random weights
standing in for the shipped ones (the examples, not the weights, are under test here).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import cv2
import media
import pytest
from click.testing import CliRunner
from test_run import random_hint_colorizer

from vidcolor import api, run
from vidcolor.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"(<!-- no-test -->\s*)?```(\w*)\n(.*?)```", re.S)


def blocks(lang: str) -> list[str]:
    return [m.group(3) for m in _BLOCK.finditer(README.read_text())
            if m.group(2) == lang and not m.group(1)]


def shell_commands() -> list[str]:
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("vidcolor "):
                out.append(line)
    return out


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A working folder with film.mp4, hints/, still.png, still.json; random weights."""
    media.make_clip(tmp_path / "film.mp4", frames=12, audio=True)
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "3.json").write_text(json.dumps({"version": 1, "points": [
        {"x": 0.5, "y": 0.5, "color": "#7a4b2c", "size": 0.1}]}))
    cv2.imwrite(str(tmp_path / "still.png"), media.pattern_frame(0, (40, 30)))
    (tmp_path / "still.json").write_text(json.dumps({"version": 1, "points": [
        {"x": 0.3, "y": 0.3, "color": "steelblue"}]}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run, "load_model",
                        lambda options: run.ChromaModel(random_hint_colorizer()))
    api.default_colorizer.cache_clear()
    yield tmp_path
    api.default_colorizer.cache_clear()


def test_readme_has_examples():
    assert len(blocks("python")) >= 4
    assert len(shell_commands()) >= 5


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_example_runs(folder, index, capsys):
    code = blocks("python")[index]
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("command", shell_commands())
def test_shell_example_runs(folder, command):
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, (command, result.stdout, result.stderr)


def test_json_examples_parse():
    from vidcolor.hints.format import parse_hints

    examples = blocks("json")
    hint_files = [json.loads(b) for b in examples if '"version"' in b]
    assert hint_files
    for data in hint_files:
        parsed = parse_hints(data, frame=data.get("frame"))
        assert len(parsed.points) == len(data["points"])
    events = [json.loads(line) for b in examples if '"event"' in b for line in b.splitlines()]
    assert {e["event"] for e in events} == {"start", "progress", "done", "error"}
