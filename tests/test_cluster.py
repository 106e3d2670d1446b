"""The Ray engine against a real two-node cluster (never a mock), on loopback only.

The cluster runs inside a network namespace that has nothing but loopback
(``unshare -n``, then ``ip link set lo up``, as root: CI runs as root), with token auth and
its own ``RAY_TMPDIR``; ``tests/cluster_scenarios.py`` starts it, runs the real CLI, and
stops every process it started. This test checks what it measured.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict:
    pytest.importorskip("ray")
    if not _namespaces_work():
        if os.environ.get("CI"):
            pytest.fail("CI must run the cluster test: `unshare -n` needs root")
        pytest.skip("`unshare -n` needs root; the cluster test runs only in a namespace")
    folder = tmp_path_factory.mktemp("cluster")
    proc = subprocess.run(["unshare", "-n", sys.executable, str(TESTS / "cluster_scenarios.py"),
                           str(folder)], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    results = folder / "results.json"
    assert results.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(results.read_text())


def _error_lines(result: dict) -> list[str]:
    return [line for line in result["stderr"] if line.startswith("vidcolor:")]


@pytest.mark.slow
def test_two_nodes_give_the_same_film_as_one_machine(scenarios):
    local, ray = scenarios["local"], scenarios["ray"]
    assert local["rc"] == 0 and ray["rc"] == 0, ray["stderr"]
    same = ray["same"]
    assert same["frames"] == [36, 36] and same["pts_equal"] and same["audio_equal"]
    assert same["identical"], same  # same code, same inputs: bit-identical, not just close
    report = ray["report"]
    assert report["engine"] == "ray" and report["shots"] == 3
    assert len(report["nodes"]) == 2  # both nodes colorized shots
    assert sorted(s for shots in report["nodes"].values() for s in shots) == [0, 1, 2]
    shot_events = [e for e in ray["events"] if e["event"] == "shot"]
    assert sorted(e["shot"] for e in shot_events) == [0, 1, 2]
    assert all(e["engine"] == "ray" and e["node"] in report["nodes"] for e in shot_events)
    assert ray["left"] == [] and scenarios["stray_tasks"] == []


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_the_film_is_unchanged(scenarios):
    run = scenarios["worker_killed"]
    assert run["killed"] == 1 and run["rc"] == 0, run["stderr"]
    assert run["same"]["identical"] and run["same"]["pts_equal"]


@pytest.mark.slow
def test_a_shot_that_keeps_failing_stops_the_run_naming_it(scenarios):
    run = scenarios["keeps_failing"]
    assert run["killed"] >= 2 and run["rc"] == 1
    (line,) = _error_lines(run)
    assert "shot " in line and "failed on the cluster after 2 tries" in line
    assert not run["exists"] and run["left"] == []  # no output, no temp file, no work folder


@pytest.mark.slow
def test_a_killed_driver_resumes_from_the_finished_shots(scenarios):
    killed, resumed = scenarios["driver_killed"], scenarios["resumed"]
    assert killed["killed"] == 1 and killed["rc"] != 0 and not killed["exists"]
    assert resumed["rc"] == 0 and resumed["report"]["resumed_shots"] >= 1
    assert resumed["same"]["identical"] and resumed["left"] == []


def test_without_ray_the_engine_is_a_one_line_error(tmp_path):
    import media

    src = media.make_clip(tmp_path / "in.mp4", frames=4)
    code = ("import sys; sys.modules['ray'] = None; from vidcolor import cli; "
            f"cli.main([{str(src)!r}, '--engine', 'ray', '--progress', 'none'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'vidcolor[ray]'" in lines[0], proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
