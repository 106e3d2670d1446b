"""Wall time of a run on a Ray cluster against its shot count, with one and two nodes.

Runs inside a loopback-only network namespace (as root)::

    unshare -n .venv/bin/python benchmarks/cluster.py --shots 2 4 8 --frames-per-shot 24

For each shot count it makes a gray clip of that many shots (generated, 320x240), then
times the real CLI: ``--engine local``, ``--engine ray`` on a one-node cluster (the head,
1 CPU) and on a two-node cluster (head + worker, 1 CPU each). Clusters are started as in
``tests/cluster_scenarios.py`` (token auth, own ``RAY_TMPDIR``, stopped by process group).
Reported: seconds per run, ``one node / two nodes`` (at most 2 on a 2-core machine) and
the per-shot overhead of the engine, ``(one node - local) / shots``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import media  # noqa: E402
from cluster_scenarios import Cluster, cluster_env  # noqa: E402


def timed_run(src: Path, out: Path, engine: str, env: dict[str, str], weights: str) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "vidcolor", str(src), "-o", str(out), "--engine",
                    engine, "--weights", weights, "--device", "cpu", "--progress", "none",
                    "--overwrite"], env=env, check=True, capture_output=True)
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--frames-per-shot", type=int, default=24)
    parser.add_argument("--weights", default="default")
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON")
    args = parser.parse_args(argv)
    env = cluster_env()
    folder = Path(tempfile.mkdtemp(prefix="vidcolor-cluster-bench-"))
    clips = {}
    for n in args.shots:
        frames = n * args.frames_per_shot
        cuts = [k * args.frames_per_shot for k in range(1, n)]
        clips[n] = media.make_clip(folder / f"in_{n}.mp4", frames=frames, size=(320, 240),
                                   cuts=cuts)
    rows = {n: {"local": timed_run(clips[n], folder / f"local_{n}.mp4", "local", env,
                                   args.weights)} for n in args.shots}
    for nodes in (1, 2):
        cluster = Cluster(env, workers=nodes - 1)
        try:
            cluster.start()
            timed_run(clips[args.shots[0]], folder / "warm.mp4", "ray", env, args.weights)
            for n in args.shots:
                rows[n][f"ray_{nodes}"] = timed_run(clips[n], folder / f"ray_{n}.mp4", "ray",
                                                    env, args.weights)
        finally:
            cluster.stop()
    print("| shots | frames | local s | Ray 1 node s | Ray 2 nodes s | 1 node / 2 nodes "
          "| overhead per shot s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in rows.items():
        r["speedup"] = r["ray_1"] / r["ray_2"]
        r["overhead_per_shot"] = (r["ray_1"] - r["local"]) / n
        print(f"| {n} | {n * args.frames_per_shot} | {r['local']:.1f} | {r['ray_1']:.1f} | "
              f"{r['ray_2']:.1f} | {r['speedup']:.2f} | {r['overhead_per_shot']:.2f} |")
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
