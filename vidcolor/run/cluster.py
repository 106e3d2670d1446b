"""Colorize the shots of a file run on a Ray cluster: one Ray task per shot.

The driver (the process running ``vidcolor FILM --engine ray``) does the analysis pass and
the plan, as a local run does, then submits each shot that is not done yet as a task:
the shot's working-resolution luma, its planned hints, the run options and a reference to
the weights go in through Ray's object store; the shot's finished chroma comes back the
same way and is written to the work folder and marked done at once, so ``--resume`` works
as for a local run. At most ``EngineOptions.shots_in_flight`` shots are out at a time,
so the driver's memory is bounded by those shots, never by the film.

A task runs ``run.shot.colorize_shot`` (flow, tracking, network, smoothing): the same code
as a local run, so a shot's chroma does not depend on which machine ran it. Ray retries a
task whose worker died (``task_retries``); a shot that still fails stops the run with a
:class:`~vidcolor.errors.ClusterError` naming it.

Weights travel by hash: the driver puts the ``.safetensors`` bytes in the object store
once; each worker checks their sha256 before it loads them (strictly, as any run does).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vidcolor.atomic import write_bytes
from vidcolor.errors import ClusterError, InputError, WeightsError
from vidcolor.models.inference import HintColorizer
from vidcolor.models.weights import weights_file
from vidcolor.options import RunOptions
from vidcolor.progress import Progress
from vidcolor.run.cancel import CancelToken
from vidcolor.run.model import ChromaModel
from vidcolor.run.plan import ShotHints
from vidcolor.run.shot import colorize_shot, compute_shot_flows
from vidcolor.run.workdir import FlowSpill, WorkFolder, chroma_record
from vidcolor.temporal.shots import Shot

try:  # an optional extra: pip install 'vidcolor[ray]'
    import ray
except ImportError:  # pragma: no cover - exercised by the "without the extra" test
    ray = None

INSTALL_HINT = "pip install 'vidcolor[ray]'"
#: Seconds between checks of the cancel token while waiting for the cluster.
_POLL_S = 0.25


def require_ray() -> None:
    """Raise a one-line :class:`InputError` when Ray is not installed."""
    if ray is None:
        raise InputError(f"found no Ray installation; expected Ray for --engine ray "
                         f"({INSTALL_HINT})", field="--engine")


# --------------------------------------------------------------------------- the worker side

_MODELS: dict[tuple[str, str, str, int], ChromaModel] = {}


def _worker_model(blob: bytes, sha256: str, options: RunOptions) -> ChromaModel:
    """The network of these weights on this worker, loaded once per process."""
    m = options.model
    key = (sha256, m.device, m.precision, m.batch_size)
    if key not in _MODELS:
        found = hashlib.sha256(blob).hexdigest()
        if found != sha256:
            raise WeightsError(f"weights from the object store have sha256 {found}; "
                               f"expected {sha256}", field="sha256")
        folder = Path(tempfile.gettempdir()) / "vidcolor-weights"
        folder.mkdir(exist_ok=True)
        path = folder / f"{sha256}.safetensors"
        if not path.exists():
            write_bytes(path, blob)
        _MODELS[key] = ChromaModel(HintColorizer(path, m.device, m.precision, m.batch_size))
    return _MODELS[key]


def colorize_shot_task(shot: Shot, luma: np.ndarray, hints: ShotHints, options: RunOptions,
                       blob: bytes, sha256: str) -> tuple[np.ndarray, str]:
    """One shot, on a worker: the body of the Ray task.

    Args:
        shot: the shot.
        luma: ``(len(shot), h, w)`` uint8 working-resolution luma of its frames.
        hints: its planned hints.
        options: the run's options.
        blob: the weights file's bytes (from the object store).
        sha256: their expected sha256.

    Returns:
        ``(chroma, node)``: ``(len(shot), h, w, 2)`` int8 finished chroma
        (``workdir.chroma_record``) and the id of the node that ran it.
    """
    model = _worker_model(blob, sha256, options)
    h, w = luma.shape[1:]
    out = np.empty((len(shot), h, w, 2), np.int8)

    def frame(i: int) -> np.ndarray:
        return luma[i - shot.start]

    def write(i: int, ab: np.ndarray) -> None:
        out[i - shot.start] = chroma_record(ab)

    with tempfile.TemporaryDirectory(prefix="vidcolor-shot-") as folder:
        spill = FlowSpill(Path(folder), shot, (h, w)).fill(compute_shot_flows(frame, shot))
        try:
            colorize_shot(shot, frame, spill.pair, hints, model, options, write)
        finally:
            spill.delete()
    return out, ray.get_runtime_context().get_node_id()


# --------------------------------------------------------------------------- the driver side


@dataclass
class ClusterRun:
    """The driver's side of one run on a cluster: submits shots, writes back what returns.

    :meth:`wait_done` is what the encode pass calls before it reads a shot, so frames are
    encoded in order as shots come back, with at most ``in_flight`` shots out at once.

    Args:
        work: the run's work folder (luma in, chroma out).
        shape: working resolution ``(h, w)``.
        shots: the shots not done yet, in film order.
        plan: every shot's planned hints.
        options: the run's options (``options.engine`` says where and how).
        progress: receives ``colorize`` progress and one ``shot`` event per shot.
        cancel: checked while waiting for the cluster.
        frames: the film's frame count (for progress).
    """

    work: WorkFolder
    shape: tuple[int, int]
    shots: list[Shot]
    plan: dict[int, ShotHints]
    options: RunOptions
    progress: Progress
    cancel: CancelToken
    frames: int
    nodes: dict[str, list[int]] = field(default_factory=dict)
    _pending: dict[object, Shot] = field(default_factory=dict)
    _next: int = 0

    def __post_init__(self) -> None:
        require_ray()
        self.finished_frames = self.frames - sum(len(s) for s in self.shots)
        engine = self.options.engine
        if not ray.is_initialized():
            # Ray's C++ core logs warnings on stderr; a run's stderr is one line per problem.
            os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
            address = engine.address or os.environ.get("RAY_ADDRESS") or "auto"
            host = address.rsplit(":", 1)[0]
            # A cluster on loopback: the driver announces loopback too (Ray would otherwise
            # look for this machine's routable address).
            local = {"_node_ip_address": "127.0.0.1"} if host in ("127.0.0.1", "localhost") \
                else {}
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False, **local)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ClusterError(f"cannot reach the Ray cluster at {address} ({exc}); "
                                   "expected a running cluster (ray start --head ...)",
                                   field="--address") from None
        path = weights_file(self.options.model.weights)
        blob = path.read_bytes()
        self._sha256 = hashlib.sha256(blob).hexdigest()
        self._blob = ray.put(blob)
        self._luma = self.work.luma(self.shape)
        resources = ray.cluster_resources()
        use_gpu = self.options.model.device != "cpu" and resources.get("GPU", 0) > 0
        self.in_flight = engine.shots_in_flight or max(1, 2 * int(resources.get("CPU", 1)))
        # Each worker runs its own network on what Ray gives it; on a CPU the device is
        # the CPU even when the options said "auto".
        self._options = self.options if use_gpu else replace(
            self.options, model=replace(self.options.model, device="cpu"))
        self._task = ray.remote(colorize_shot_task).options(
            num_cpus=1, num_gpus=1 if use_gpu else 0, max_retries=engine.task_retries,
            retry_exceptions=False)

    def _submit(self) -> None:
        while self._next < len(self.shots) and len(self._pending) < self.in_flight:
            shot = self.shots[self._next]
            self._next += 1
            luma = np.stack([self._luma.read(i) for i in range(shot.start, shot.stop)])
            ref = self._task.remote(shot, luma, self.plan[shot.index], self._options,
                                    self._blob, self._sha256)
            self._pending[ref] = shot

    def _collect(self, ref: object) -> None:
        shot = self._pending.pop(ref)
        try:
            chroma, node = ray.get(ref)
        except ray.exceptions.RayError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ClusterError(
                f"shot {shot.index} (frames {shot.start}-{shot.stop - 1}) failed on the "
                f"cluster after {self.options.engine.task_retries + 1} tries: {reason}",
                field="--engine") from None
        with self.work.shot_chroma(shot, self.shape) as out:
            for k, record in enumerate(chroma):
                out.write(k, record)
            out.flush()
        self.work.mark_done(shot)
        self.nodes.setdefault(node, []).append(shot.index)
        self.finished_frames += len(shot)
        self.progress.shot_done(shot.index, node, "ray")
        self.progress.update("colorize", self.finished_frames, self.frames)

    def wait_done(self, shot: Shot) -> None:
        """Return once ``shot`` is in the work folder, keeping the cluster busy meanwhile."""
        while not self.work.is_done(shot):
            self.cancel.check()
            self._submit()
            if not self._pending:
                raise ClusterError(f"shot {shot.index} was never submitted", field="--engine")
            ready, _ = ray.wait(list(self._pending), num_returns=1, timeout=_POLL_S)
            for ref in ready:
                self._collect(ref)

    def close(self) -> None:
        """Cancel what is still out and release the luma file."""
        for ref in list(self._pending):
            ray.cancel(ref, force=True)
        self._pending.clear()
        self._luma.close()

