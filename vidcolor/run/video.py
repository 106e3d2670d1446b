"""A video file run: analyze, colorize every shot, encode; :func:`run_video` is the door.

1. **Analysis** (:func:`analyze`, streaming decode of luma at working resolution): cut
   detection, and every frame's working-resolution luma spilled to the work folder.
   The result is one :class:`~vidcolor.run.workdir.Analysis` value.
2. **Plan** (``run.plan``): which hints guide each shot, borrowing for unhinted shots.
3. **Per shot** (:func:`colorize_shots`): optical flow in a worker thread one shot ahead,
   then ``run.shot.colorize_shot``. A finished shot's chroma is kept in the work folder and
   marked done; ``--resume`` skips it.
4. **Encode** (:func:`encode`: decode thread -> compose -> encode thread): each
   full-resolution frame keeps its Y plane; its U/V planes come from ``run.compose``.

Each pass takes the :class:`VideoJob` (paths, probe, working shape, hints, options) and
the values earlier passes returned; nothing is passed through shared state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidcolor.atomic import check_output_path
from vidcolor.errors import Cancelled, DecodeError
from vidcolor.frames import ColoredFrame, FrameTime, working_shape
from vidcolor.hints.format import HintSet
from vidcolor.io.decode import DecodeReport, iter_luma, iter_video_frames
from vidcolor.io.probe import VideoInfo, probe
from vidcolor.io.sequence_writer import check_output, check_writer, open_writer
from vidcolor.options import RunOptions
from vidcolor.progress import Progress
from vidcolor.run.cancel import CancelToken
from vidcolor.run.cluster import ClusterRun, require_ray
from vidcolor.run.compose import colorize_gray, compose_chroma
from vidcolor.run.model import ChromaModel, load_model
from vidcolor.run.plan import (
    HintFrames,
    ShotHints,
    borrowed_shots,
    hint_frames_of,
    hints_in_stored_orientation,
    plan_shot_hints,
)
from vidcolor.run.shot import colorize_shot, compute_shot_flows
from vidcolor.run.workdir import (
    Analysis,
    FlowSpill,
    RecordFile,
    WorkFolder,
    check_free_space,
    chroma_record,
    fingerprint,
    work_bytes_estimate,
)
from vidcolor.temporal.shots import CutDetector, Shot
from vidcolor.workers import BoundedPrefetch, BoundedSink

log = logging.getLogger("vidcolor")

#: Frames in flight between the decode, compose and encode threads.
QUEUE_DEPTH = 4

#: Called on the caller's thread with every finished frame; returning False cancels.
OnFrame = Callable[[ColoredFrame], bool | None]


@dataclass(frozen=True)
class RunReport:
    """What a video run did.

    Attributes:
        input: the source path.
        output: the written file.
        frames: frames written.
        seconds: wall-clock seconds of the whole run.
        fps: ``frames / seconds``.
        shots: number of shots found.
        cuts: first frame index of every shot after the first.
        borrowed: ``{shot: source shot}`` for every unhinted shot that took its colors
            from another shot.
        decode_errors_filled: frames that failed to decode and were filled from a neighbour.
        resumed_shots: shots taken from an earlier, interrupted run (``--resume``).
        engine: ``"local"`` or ``"ray"``: where the shots were colorized.
        nodes: ``{node id: [shot, ...]}`` of the shots a cluster colorized (``"ray"``).
    """

    input: str
    output: str
    frames: int
    seconds: float
    fps: float
    shots: int
    cuts: tuple[int, ...] = ()
    borrowed: dict[int, int] = field(default_factory=dict)
    decode_errors_filled: int = 0
    resumed_shots: int = 0
    engine: str = "local"
    nodes: dict[str, list[int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The report as plain JSON-able values."""
        data = asdict(self)
        data["cuts"] = list(self.cuts)
        data["borrowed"] = {str(k): v for k, v in self.borrowed.items()}
        return data


@dataclass(frozen=True)
class VideoJob:
    """What every pass of one run needs, fixed before the first pass.

    Attributes:
        src: the input video.
        dst: the output video.
        info: the input's probe.
        shape: working resolution ``(h, w)``.
        hint_frames: hints mapped onto the stored picture (display rotation undone).
        options: the run's options.
    """

    src: Path
    dst: Path
    info: VideoInfo
    shape: tuple[int, int]
    hint_frames: HintFrames
    options: RunOptions


def check_paths(src: str | Path, dst: str | Path, *, overwrite: bool) -> tuple[Path, Path]:
    """Refuse to run when the output is the input, or exists without ``overwrite``.

    Returns:
        ``(src, dst)`` as Paths.

    Raises:
        InputError: ``dst`` is ``src`` (exit code 2).
        OutputError: ``dst`` exists without ``overwrite``, is a directory, or its folder is
            missing (exit code 1), as for every output vidcolor writes
            (``vidcolor.atomic.check_output_path``).
    """
    src, dst = Path(src), Path(dst)
    check_output_path(dst, inputs=(src,), overwrite=overwrite)
    return src, dst


# --------------------------------------------------------------------------- pass 1


def analyze(job: VideoJob, work: WorkFolder, progress: Progress,
            cancel: CancelToken) -> Analysis:
    """Spill every frame's working-resolution luma to the work folder and find the cuts."""
    h, w = job.shape
    detector = CutDetector()
    frames = 0
    report = DecodeReport()
    with work.luma(job.shape) as luma:
        source = iter_luma(job.src, (w, h), strict=job.options.strict, report=report,
                           prefetch=QUEUE_DEPTH, rate=job.options.fps)
        try:
            for frame_time, gray in source:
                cancel.check()
                luma.write(frame_time.index, gray)
                detector.push(gray)
                frames = frame_time.index + 1
                progress.update("analyze", frames, job.info.frame_count)
        finally:
            source.close()
        luma.flush()
    for message in report.messages:
        log.warning("%s: %s", job.src, message)
    if frames == 0:
        raise DecodeError("no video frame could be decoded", path=job.src)
    progress.update("analyze", frames, frames, force=True)
    analysis = Analysis(frames=frames, cuts=tuple(sorted(detector.cuts)),
                        decode_errors_filled=len(report.filled))
    work.save_analysis(analysis)
    return analysis


# --------------------------------------------------------------------------- pass 2


def colorize_shots(job: VideoJob, work: WorkFolder, analysis: Analysis, todo: list[Shot],
                   plan: dict[int, ShotHints], model: ChromaModel, progress: Progress,
                   cancel: CancelToken) -> None:
    """Colorize the shots ``todo`` (those not done yet, in order) into the work folder.

    Each shot's flows are computed in a worker thread while the shot before it is
    colorized (one shot ahead, so at most two shots' flows are on disk).
    """
    finished = analysis.frames - sum(len(s) for s in todo)
    luma = work.luma(job.shape)

    def flows_ahead(shot: Shot) -> BoundedPrefetch[FlowSpill]:
        return BoundedPrefetch((work.flow_spill(shot, job.shape).fill(
            compute_shot_flows(luma.read, shot, cancel)) for _ in range(1)),
            maxsize=1, name="vidcolor-flow")

    ahead = [flows_ahead(todo[0])] if todo else []
    try:
        for k, shot in enumerate(todo):
            current = ahead.pop()
            spill = next(current)
            current.close()
            if k + 1 < len(todo):
                ahead.append(flows_ahead(todo[k + 1]))
            try:
                with work.shot_chroma(shot, job.shape) as out:
                    def tick(n: int, base: int = finished) -> None:
                        progress.update("colorize", base + n, analysis.frames)

                    def write(i: int, ab: np.ndarray, out: RecordFile = out,
                              start: int = shot.start) -> None:
                        out.write(i - start, chroma_record(ab))

                    colorize_shot(shot, luma.read, spill.pair, plan[shot.index], model,
                                  job.options, write, cancel, tick)
                    out.flush()
            finally:
                spill.delete()
            work.mark_done(shot)
            finished += len(shot)
    finally:
        for pending in ahead:
            pending.close()
        luma.close()
    progress.update("colorize", analysis.frames, analysis.frames, force=True)


# --------------------------------------------------------------------------- pass 3


def encode(job: VideoJob, work: WorkFolder, analysis: Analysis, backend: str,
           progress: Progress, cancel: CancelToken, on_frame: OnFrame | None,
           ready: Callable[[Shot], None] | None = None) -> int:
    """Write the output: every frame's Y plane as decoded, U/V from its shot's chroma.

    Args:
        job: the run.
        work: its work folder, holding every shot's chroma (or, with ``ready``, about to).
        analysis: the analysis pass's result.
        backend: the guided filter's backend (``run.compose.upsample_ab``).
        progress: receives ``encode`` progress.
        cancel: checked every frame.
        on_frame: the caller's per-frame callback, or None.
        ready: called before a shot's chroma is first read; returns once it is in the
            work folder (a cluster run colorizes shots while earlier ones are encoded).

    Returns:
        Frames written.
    """
    shots = analysis.shots
    frames = analysis.frames
    info = job.info
    store: RecordFile | None = None  # the current shot's chroma (one file open at a time)
    starts = [s.start for s in shots]
    written = 0
    source = iter_video_frames(job.src, strict=job.options.strict, report=DecodeReport(),
                               prefetch=QUEUE_DEPTH, rate=job.options.fps)
    try:
        with open_writer(job.dst, info, job.options.encode) as writer:
            with BoundedSink(lambda item: writer.write(*item), QUEUE_DEPTH,
                             name="vidcolor-encode") as sink:
                for frame_time, plane in source:
                    cancel.check()
                    index = frame_time.index
                    if index >= frames:
                        raise DecodeError(f"the second decode found frame {index}; the "
                                          f"first found {frames} frames", path=job.src)
                    shot = shots[int(np.searchsorted(starts, index, side="right")) - 1]
                    if store is None or store.path != work.shot_chroma_path(shot):
                        if store is not None:
                            store.close()
                        if ready is not None:
                            ready(shot)
                        store = work.shot_chroma(shot, job.shape)
                    ab = store.read(index - shot.start).astype(np.float32)
                    gray = plane.gray
                    deep = plane.bit_depth > 8 or writer.bit_depth > 8
                    u, v = compose_chroma(gray, ab, writer.chroma_size, matrix=writer.matrix,
                                          full_range=writer.full_range, backend=backend,
                                          luma=plane.luma if deep else None,
                                          bit_depth=writer.bit_depth)
                    sink.put((frame_time, plane.y, u, v))
                    written += 1
                    if on_frame is not None:
                        _call_on_frame(on_frame, frame_time, gray, ab, backend, info.rotation)
                    progress.update("encode", written, frames)
    finally:
        source.close()
        if store is not None:
            store.close()
    if written != frames:
        raise DecodeError(f"the second decode found {written} frames, the first {frames}",
                          path=job.src)
    progress.update("encode", written, frames, force=True)
    return written


def _call_on_frame(on_frame: OnFrame, frame_time: FrameTime, gray: np.ndarray, ab: np.ndarray,
                   backend: str, rotation: int) -> None:
    color = colorize_gray(gray, ab, backend=backend)
    gray = gray.copy()
    gray.flags.writeable = False
    color.flags.writeable = False
    if on_frame(ColoredFrame(frame_time, gray, color, rotation)) is False:
        raise Cancelled("cancelled by the on_frame callback")


# --------------------------------------------------------------------------- the run


def run_video(
    src: str | Path,
    dst: str | Path,
    hints: HintSet | HintFrames | None = None,
    options: RunOptions | None = None,
    *,
    model: ChromaModel | None = None,
    on_frame: OnFrame | None = None,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> RunReport:
    """Colorize a video file into another, keeping its luma, timing, audio and metadata.

    Args:
        src: the input video.
        dst: the output video; its extension picks the container.
        hints: a ``HintSet`` (``hints.format.load_hints``), a ``{frame: FrameHints}`` dict,
            or None for automatic colorization.
        options: model, temporal and encode options, ``strict`` and ``resume``.
        model: an already loaded network; loaded from ``options.model`` when None (after
            the paths and the input were checked).
        on_frame: called on the caller's thread, in frame order, with each finished
            :class:`~vidcolor.frames.ColoredFrame`; returning False (or raising) cancels.
        progress: a :class:`vidcolor.progress.Progress`; silent when None.
        cancel: a :class:`~vidcolor.run.cancel.CancelToken` that signal handlers may set.

    Returns:
        The :class:`RunReport`.

    Raises:
        InputError: bad input, hints or weights (exit code 2).
        OutputError: the output exists or cannot be written (exit code 1).
        Cancelled: the run was stopped; no output file is left, and the work folder is
            kept so that ``resume=True`` continues from the last finished shot.
    """
    options = options if options is not None else RunOptions()
    progress = progress if progress is not None else Progress()
    cancel = cancel if cancel is not None else CancelToken()
    src, dst = check_paths(src, dst, overwrite=options.encode.overwrite)
    check_output(dst, options.encode)  # container x codec, or image pattern: before any work
    on_cluster = options.engine.kind == "ray"
    if on_cluster:
        require_ray()
    t0 = time.monotonic()
    info = probe(src, options.fps)
    check_writer(dst, info, options.encode)  # what the encoder would refuse: size, format
    if info.frame_count is not None and isinstance(hints, HintSet):
        hints.check_frame_count(info.frame_count)
    job = VideoJob(src=src, dst=dst, info=info,
                   shape=working_shape(info.height, info.width, options.model.working_size),
                   hint_frames=hints_in_stored_orientation(hint_frames_of(hints), info.rotation),
                   options=options)
    work = WorkFolder(dst)
    if not (options.resume and work.path.exists()):  # resumed work already holds its share
        check_free_space(dst.parent, work_bytes_estimate(info, job.shape))
    progress.start(str(src), str(dst), info.frame_count, None)
    reused = work.open(fingerprint(src, job.hint_frames, options, info), resume=options.resume)
    cluster: ClusterRun | None = None
    try:
        # Load the weights before the long passes: a bad file fails at once. A cluster run
        # hashes and ships them instead (each worker loads them).
        local_model = None if on_cluster else (model or load_model(options.model))
        analysis = (work.load_analysis() if reused else None) or analyze(job, work, progress,
                                                                         cancel)
        if isinstance(hints, HintSet):
            hints.check_frame_count(analysis.frames)
        luma = work.luma(job.shape)
        try:
            plan = plan_shot_hints(analysis.shots, job.hint_frames, luma.read)
        finally:
            luma.close()
        todo = [s for s in analysis.shots if not work.is_done(s)]
        resumed = len(analysis.shots) - len(todo)
        if on_cluster:
            cluster = ClusterRun(work, job.shape, todo, plan, options, progress, cancel,
                                 analysis.frames)
            written = encode(job, work, analysis, "opencv", progress, cancel, on_frame,
                             ready=cluster.wait_done)
        elif local_model is not None:
            colorize_shots(job, work, analysis, todo, plan, local_model, progress, cancel)
            written = encode(job, work, analysis, local_model.backend, progress, cancel,
                             on_frame)
    except Cancelled:
        if cancel.signum is None:  # a callback said stop: nothing to resume
            work.remove()
        raise  # a signal: keep the work, --resume continues from the last finished shot
    except KeyboardInterrupt:
        raise  # Ctrl-C in a Python session: keep the work for resume=True
    except BaseException:
        work.remove()
        raise
    finally:
        if cluster is not None:
            cluster.close()
    work.remove()
    seconds = time.monotonic() - t0
    progress.done(str(dst), written, seconds)
    return RunReport(
        input=str(src), output=str(dst), frames=written, seconds=seconds,
        fps=written / seconds if seconds > 0 else 0.0, shots=len(analysis.shots),
        cuts=analysis.cuts, borrowed=borrowed_shots(plan),
        decode_errors_filled=analysis.decode_errors_filled, resumed_shots=resumed,
        engine=options.engine.kind, nodes=dict(cluster.nodes) if cluster is not None else {},
    )
