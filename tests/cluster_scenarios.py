"""Run vidcolor on a real two-node Ray cluster, inside a loopback-only network namespace.

Started by ``tests/test_cluster.py`` as ``unshare -n python tests/cluster_scenarios.py DIR``:
this process brings up ``lo``, starts a head node and a worker node (token auth, their own
``RAY_TMPDIR``), runs the real CLI in the scenarios below, stops every process it started
by its process group, and writes what it measured to ``DIR/results.json`` for the test to
check. Nothing here can reach any address but loopback: the namespace has no other link.

Scenarios, each on the same generated clip (3 shots, audio) and random weights:

* ``local``: a one-machine run (the reference);
* ``ray``: ``--engine ray`` on both nodes;
* ``worker_killed``: a Ray worker running a shot is killed with SIGKILL mid-shot;
* ``keeps_failing``: every worker running a shot is killed, with ``--task-retries 1``;
* ``driver_killed``: the driver is killed once a shot is done, then run with ``--resume``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import media
import numpy as np

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))
from test_run import WORKING_SIZE, random_weights_file  # noqa: E402

PORT = 6391
TASK = b"ray::colorize_shot_task"


def ray_bin() -> str:
    return str(Path(sys.executable).with_name("ray"))


class Cluster:
    """A head node and worker nodes started with ``ray start --block``, each in its session.

    Args:
        env: the environment of every Ray process (token auth, ``RAY_TMPDIR``).
        workers: worker nodes besides the head; every node offers one CPU.
    """

    def __init__(self, env: dict[str, str], workers: int = 1):
        self.env = env
        self.workers = workers
        self.procs: list[subprocess.Popen] = []

    def start(self) -> None:
        common = ["--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                  "--disable-usage-stats"]
        self._spawn([ray_bin(), "start", "--head", f"--port={PORT}",
                     "--include-dashboard=false", *common])
        self._wait_nodes(1)
        for n in range(self.workers):
            self._spawn([ray_bin(), "start", f"--address=127.0.0.1:{PORT}", *common])
            self._wait_nodes(n + 2)

    def _spawn(self, cmd: list[str]) -> None:
        log = open(Path(self.env["RAY_TMPDIR"]) / f"node{len(self.procs)}.log", "w")  # noqa: SIM115
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log,
                                           start_new_session=True))

    def _wait_nodes(self, n: int, timeout: float = 120.0) -> None:
        probe = (f"import ray; ray.init(address='127.0.0.1:{PORT}', "
                 "_node_ip_address='127.0.0.1', logging_level='ERROR'); "
                 "print(sum(x['Alive'] for x in ray.nodes()))")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run([sys.executable, "-c", probe], env=self.env,
                                 capture_output=True, text=True, timeout=60)
            if out.returncode == 0 and out.stdout.strip() == str(n):
                return
            time.sleep(1.0)
        raise RuntimeError(f"the cluster did not reach {n} nodes")

    def stop(self) -> None:
        for proc in reversed(self.procs):  # ray start --block stops its node on SIGTERM
            _signal_group(proc, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)  # anything its node left behind
            proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def task_pids() -> list[int]:
    """Processes that are running a shot task right now (Ray names them after the task)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(TASK):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vidcolor", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def frames_of(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def compare(a: Path, b: Path) -> dict:
    fa, fb = frames_of(a), frames_of(b)
    same = len(fa) == len(fb)
    psnrs = [media.psnr(x, y) for x, y in zip(fa, fb, strict=False)]
    return {
        "frames": [len(fa), len(fb)],
        "identical": same and all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True)),
        "min_psnr": min(psnrs) if psnrs else None,
        "pts_equal": media.read_pts(a) == media.read_pts(b),
        "audio_equal": media.read_audio_packets(a) == media.read_audio_packets(b),
    }


def cluster_env() -> dict[str, str]:
    """Bring up loopback (in a fresh namespace) and make the Ray processes' environment."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    short = Path(tempfile.mkdtemp(prefix="vcray", dir="/tmp"))  # unix socket paths are short
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
            "RAY_TMPDIR": str(short), "RAY_ADDRESS": f"127.0.0.1:{PORT}",
            "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(REPO),
            "RAY_USAGE_STATS_ENABLED": "0"}


def main(folder: Path) -> None:
    env = cluster_env()
    src = media.make_clip(folder / "in.mp4", frames=36, cuts=(12, 24), audio=True)
    weights = random_weights_file(folder / "random.safetensors")
    base = ["--weights", str(weights), "--working-size", str(WORKING_SIZE), "--device", "cpu",
            "--codec", "ffv1", "--progress", "jsonl"]
    results: dict = {}

    def run(name: str, *extra: str, killer=None) -> dict:
        out = folder / f"{name}.mkv"
        proc = cli([str(src), "-o", str(out), *base, *extra], env)
        killed = killer(proc, out) if killer else 0
        stdout, stderr = proc.communicate(timeout=600)
        events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        return {"rc": proc.returncode, "stderr": stderr.strip().splitlines()[-3:],
                "events": events, "killed": killed, "exists": out.exists(),
                "left": sorted(p.name for p in folder.iterdir() if p.name.startswith(
                    (f".{name}", f"{name}.mkv.")))}

    def kill_first_task(proc: subprocess.Popen, out: Path) -> int:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            pids = task_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                return 1
            time.sleep(0.02)
        return 0

    def kill_every_task(proc: subprocess.Popen, out: Path) -> int:
        killed = 0
        while proc.poll() is None:
            for pid in task_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        return killed

    def kill_driver_after_a_shot(proc: subprocess.Popen, out: Path) -> int:
        work = out.with_name(out.name + ".vidcolor-work")
        while proc.poll() is None:
            if list(work.glob("ab_*.done")):
                proc.kill()
                return 1
            time.sleep(0.02)
        return 0

    cluster = Cluster(env)
    try:
        cluster.start()
        results["local"] = run("local", "--engine", "local")
        results["ray"] = run("ray", "--engine", "ray", "--report", str(folder / "ray.json"))
        results["ray"]["report"] = json.loads((folder / "ray.json").read_text())
        results["ray"]["same"] = compare(folder / "local.mkv", folder / "ray.mkv")
        results["worker_killed"] = run("worker_killed", "--engine", "ray",
                                       killer=kill_first_task)
        results["worker_killed"]["same"] = compare(folder / "local.mkv",
                                                   folder / "worker_killed.mkv")
        results["keeps_failing"] = run("keeps_failing", "--engine", "ray", "--task-retries",
                                       "1", killer=kill_every_task)
        results["driver_killed"] = run("driver_killed", "--engine", "ray",
                                       killer=kill_driver_after_a_shot)
        results["resumed"] = run("driver_killed", "--engine", "ray", "--resume",
                                 "--report", str(folder / "resumed.json"))
        results["resumed"]["report"] = json.loads((folder / "resumed.json").read_text())
        results["resumed"]["same"] = compare(folder / "local.mkv", folder / "driver_killed.mkv")
    finally:
        cluster.stop()
        results["stray_tasks"] = task_pids()
        (folder / "results.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
