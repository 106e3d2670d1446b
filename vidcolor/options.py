"""Frozen option objects, built once at the edge (CLI, API, add-on) and passed down."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelOptions:
    """How the hint network runs.

    Attributes:
        weights: a registry name (``"default"``) or a path to a ``.safetensors`` file.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        batch_size: frames per inference batch. Results do not depend on it.
        working_size: the shorter side, in pixels, at which the network sees a frame.
        precision: ``"auto"`` (bf16/fp16 autocast on CUDA, fp32 on CPU), ``"fp32"``.
    """

    weights: str = "default"
    device: str = "auto"
    batch_size: int = 4
    working_size: int = 256
    precision: str = "auto"


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
    """

    codec: str | None = None
    crf: int = 16
    overwrite: bool = False


@dataclass(frozen=True)
class RunOptions:
    """Everything a video run needs besides the paths and the hints."""

    model: ModelOptions = ModelOptions()
    temporal: TemporalOptions = TemporalOptions()
    encode: EncodeOptions = EncodeOptions()
    strict: bool = False
    resume: bool = False
