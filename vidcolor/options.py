"""Frozen option objects, their defaults and their validation: the one place for all three.

Options are built once at the edge (CLI, API, add-on) with :func:`build_options`, which
checks every value, and passed down frozen. The CLI's defaults are read from these
classes, never restated.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from vidcolor.errors import InputError

DEVICES = ("auto", "cpu", "cuda")
ENGINES = ("local", "ray")
CHROMA = ("420", "422", "444")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BACKENDS = ("auto", "torch", "openvino")
#: Allowed ranges of the integer options, ``name: (low, high)`` inclusive.
INT_RANGES = {"batch_size": (1, 4096), "working_size": (64, 1024), "temporal_window": (0, 32),
              "crf": (0, 63), "task_retries": (0, 100), "shots_in_flight": (1, 100_000)}


@dataclass(frozen=True)
class ModelOptions:
    """How the hint network runs.

    Attributes:
        weights: a registry name (``"default"``) or a path to a ``.safetensors`` file.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        batch_size: frames per inference batch. Results do not depend on it.
        working_size: the shorter side, in pixels, at which the network sees a frame.
        precision: ``"auto"`` (bf16/fp16 autocast on CUDA; on the CPU bf16 where OpenVINO
            runs it natively, else fp32), ``"fp32"``, ``"bf16"``, ``"fp16"`` (CUDA only).
        backend: what runs the network: ``"torch"`` (the reference), ``"openvino"`` (CPU
            only; the ``openvino`` extra) or ``"auto"`` (OpenVINO on the CPU when it is
            installed, else torch).
    """

    weights: str = "default"
    device: str = "auto"
    batch_size: int = 4
    working_size: int = 256
    precision: str = "auto"
    backend: str = "auto"


@dataclass(frozen=True)
class TemporalOptions:
    """The flicker-removal stage.

    Attributes:
        enabled: run the stage at all.
        strength: 0..1, how much the warped previous color is trusted where the warp holds.
        window: frames looked at in each direction by the bidirectional pass.
    """

    enabled: bool = True
    strength: float = 0.8
    window: int = 4


@dataclass(frozen=True)
class EncodeOptions:
    """How the output file is written.

    Attributes:
        codec: video codec name for PyAV, or None for the container's default.
        crf: constant rate factor for x264/x265/vp9; lower is better quality.
        overwrite: replace an existing output file.
        lossless: lossless output: FFV1 in ``.mkv``, x264 qp 0 in ``.mp4``/``.mov``
            (``vidcolor.io.formats``).
        chroma: the output's chroma subsampling, ``"420"``, ``"422"`` or ``"444"``; None
            keeps the source's (RGB scans count as 4:4:4) where the codec allows.
    """

    codec: str | None = None
    crf: int = 16
    overwrite: bool = False
    lossless: bool = False
    chroma: str | None = None


@dataclass(frozen=True)
class EngineOptions:
    """Where the shots of a video run are colorized.

    Attributes:
        kind: ``"local"`` (this process) or ``"ray"`` (one Ray task per shot).
        address: the Ray cluster's address (``HOST:PORT``), or None for ``RAY_ADDRESS`` /
            a cluster started on this machine.
        task_retries: how many times a shot whose worker died is tried again.
        shots_in_flight: the most shots submitted and not yet written back, or None for
            twice the cluster's CPUs; bounds the driver's memory.
    """

    kind: str = "local"
    address: str | None = None
    task_retries: int = 3
    shots_in_flight: int | None = None


@dataclass(frozen=True)
class RunOptions:
    """Everything a video run needs besides the paths and the hints.

    Attributes:
        fps: frame rate given to an image-sequence input (ignored for video files).
    """

    model: ModelOptions = ModelOptions()
    temporal: TemporalOptions = TemporalOptions()
    encode: EncodeOptions = EncodeOptions()
    engine: EngineOptions = EngineOptions()
    strict: bool = False
    resume: bool = False
    fps: Fraction = Fraction(24)


#: The defaults of every option, for doors that show them (the CLI's ``--help``).
DEFAULTS = RunOptions()

#: Every option a video run takes by keyword (:func:`build_options`).
RUN_OPTION_NAMES = frozenset({
    "weights", "device", "batch_size", "working_size", "precision", "backend", "temporal",
    "temporal_strength", "temporal_window", "codec", "crf", "overwrite", "strict", "resume",
    "lossless", "chroma", "fps", "engine", "address", "task_retries", "shots_in_flight",
})

_M, _T, _E, _G = ModelOptions(), TemporalOptions(), EncodeOptions(), EngineOptions()
DEFAULT_FPS = Fraction(24)


def build_options(
    *,
    weights: str = _M.weights,
    device: str = _M.device,
    batch_size: int = _M.batch_size,
    working_size: int = _M.working_size,
    precision: str = _M.precision,
    backend: str = _M.backend,
    temporal: bool = _T.enabled,
    temporal_strength: float = _T.strength,
    temporal_window: int = _T.window,
    codec: str | None = _E.codec,
    crf: int = _E.crf,
    overwrite: bool = _E.overwrite,
    strict: bool = False,
    resume: bool = False,
    lossless: bool = _E.lossless,
    chroma: str | None = _E.chroma,
    fps: float | Fraction | str = DEFAULT_FPS,
    engine: str = _G.kind,
    address: str | None = _G.address,
    task_retries: int = _G.task_retries,
    shots_in_flight: int | None = _G.shots_in_flight,
) -> RunOptions:
    """Check run options and freeze them into a :class:`RunOptions`.

    Args:
        weights: registry name or ``.safetensors`` path.
        device: ``auto``, ``cpu`` or ``cuda``.
        batch_size: frames per inference batch (>= 1); results do not depend on it.
        working_size: shorter side the network sees, a multiple of 8 from 64 to 1024.
        precision: ``auto`` (see :class:`ModelOptions`), ``fp32``, ``bf16`` or ``fp16`` (CUDA).
        backend: ``auto``, ``torch`` or ``openvino`` (see :class:`ModelOptions`).
        temporal: run temporal smoothing.
        temporal_strength: 0..1.
        temporal_window: frames of look-ahead of the backward pass (0..32).
        codec: output video codec (PyAV name) or None for the container's default.
        crf: constant rate factor, 0..63.
        overwrite: replace an existing output.
        strict: a decode error is an error instead of a filled frame.
        resume: continue an interrupted run from its last finished shot.
        lossless: lossless output (FFV1 in .mkv, x264 qp 0 in .mp4).
        chroma: output subsampling ``"420"``, ``"422"``, ``"444"`` (``4:2:0`` ... also
            accepted), or None for the source's.
        fps: frame rate of an image-sequence input, ``24``, ``23.976`` or ``"24000/1001"``.
        engine: ``local`` or ``ray`` (see :class:`EngineOptions`).
        address: the Ray cluster's address, or None.
        task_retries: tries again of a shot whose worker died (0..100).
        shots_in_flight: shots submitted to the cluster at once, or None.

    Returns:
        The frozen options.

    Raises:
        InputError: naming the option, the value found and the values expected.
    """
    check_choice("device", device, DEVICES)
    check_choice("precision", precision, PRECISIONS)
    check_choice("backend", backend, BACKENDS)
    check_int("batch_size", batch_size)
    check_int("working_size", working_size)
    if working_size % 8:
        raise InputError(f"found {working_size}; expected a multiple of 8", field="working_size")
    check_int("crf", crf)
    check_temporal(temporal_strength, temporal_window)
    rate = check_fps(fps)
    if chroma is not None:
        chroma = str(chroma).replace(":", "")
        check_choice("chroma", chroma, CHROMA)
    check_choice("engine", engine, ENGINES)
    check_int("task_retries", task_retries)
    if shots_in_flight is not None:
        check_int("shots_in_flight", shots_in_flight)
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise InputError(f"found {address!r}; expected HOST:PORT of a Ray cluster",
                         field="address")
    return RunOptions(
        model=ModelOptions(weights=str(weights), device=device, batch_size=batch_size,
                           working_size=working_size, precision=precision,
                           backend=backend),
        temporal=TemporalOptions(enabled=bool(temporal), strength=float(temporal_strength),
                                 window=temporal_window),
        encode=EncodeOptions(codec=codec, crf=crf, overwrite=bool(overwrite),
                             lossless=bool(lossless), chroma=chroma),
        strict=bool(strict),
        resume=bool(resume),
        fps=rate,
        engine=EngineOptions(kind=engine, address=address, task_retries=task_retries,
                             shots_in_flight=shots_in_flight),
    )


def options_from(kwargs: dict[str, Any]) -> RunOptions:
    """:func:`build_options` from a keyword dict, refusing unknown names."""
    unknown = sorted(set(kwargs) - RUN_OPTION_NAMES)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; expected some of "
                         f"{', '.join(sorted(RUN_OPTION_NAMES))}", field="options")
    return build_options(**kwargs)


def check_fps(fps: Any) -> Fraction:
    """The frame rate ``fps`` as a Fraction; :class:`InputError` unless in (0, 1000].

    ``23.976`` and ``29.97`` mean the NTSC rates 24000/1001 and 30000/1001.
    """
    try:
        if isinstance(fps, bool):
            raise TypeError
        rate = Fraction(str(fps)) if not isinstance(fps, Fraction) else fps
    except (TypeError, ValueError, ZeroDivisionError):
        raise InputError(f"found {fps!r}; expected a frame rate such as 24 or 24000/1001",
                         field="fps") from None
    if not 0 < rate <= 1000:
        raise InputError(f"found {fps!r}; expected a frame rate in (0, 1000]", field="fps")
    ntsc = {Fraction("23.976"): Fraction(24000, 1001), Fraction("29.97"): Fraction(30000, 1001),
            Fraction("59.94"): Fraction(60000, 1001)}
    return ntsc.get(rate, rate)


def check_temporal(strength: Any, window: Any) -> None:
    """Raise :class:`InputError` unless ``strength`` is in [0, 1] and ``window`` in range.

    The one check of :class:`TemporalOptions`, for :func:`build_options` and for
    ``temporal.smooth``, which may be given options built by hand.
    """
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) \
            or not 0.0 <= float(strength) <= 1.0:
        raise InputError(f"found {strength!r}; expected a number in [0, 1]",
                         field="temporal_strength")
    check_int("temporal_window", window)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InputError(f"found {value!r}; expected one of {', '.join(choices)}", field=name)


def check_int(name: str, value: Any, lo: int | None = None, hi: int | None = None) -> None:
    """Raise :class:`InputError` unless ``value`` is an int in ``[lo, hi]``.

    The range defaults to ``INT_RANGES[name]``.
    """
    if lo is None or hi is None:
        lo, hi = INT_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not lo <= int(value) <= hi:
        raise InputError(f"found {value!r}; expected an integer in [{lo}, {hi}]", field=name)
