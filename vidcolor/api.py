"""The Python API: colorize a video file, a stream of frames, or one image.

Example:
    >>> import vidcolor
    >>> report = vidcolor.colorize_video("film.mp4", "film_color.mp4", hints="hints/")
    >>> rgb = vidcolor.colorize_image("still.png", hints={"version": 1, "points": [
    ...     {"x": 0.5, "y": 0.4, "color": "#7a4b2c"}]})

The module-level functions share a cached default :class:`Colorizer` per (weights, device);
build a :class:`Colorizer` yourself to hold a model for repeated calls with other settings.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidcolor import pipeline
from vidcolor.errors import HintError, InputError
from vidcolor.options import EncodeOptions, ModelOptions, RunOptions, TemporalOptions
from vidcolor.pipeline import CancelToken, OnFrame, RunReport

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

_VIDEO_OPTIONS = frozenset({
    "weights", "device", "batch_size", "working_size", "precision", "temporal",
    "temporal_strength", "temporal_window", "codec", "crf", "overwrite", "strict", "resume",
})


def default_output(src: str | Path) -> Path:
    """The default output path of a run: ``<stem>_color<suffix>`` beside the input.

    Args:
        src: the input video path.

    Returns:
        The output path.
    """
    src = Path(src)
    return src.with_name(f"{src.stem}_color{src.suffix}")


def build_options(
    *,
    weights: str = "default",
    device: str = "auto",
    batch_size: int = 4,
    working_size: int = 256,
    precision: str = "auto",
    temporal: bool = True,
    temporal_strength: float = 0.8,
    temporal_window: int = 4,
    codec: str | None = None,
    crf: int = 16,
    overwrite: bool = False,
    strict: bool = False,
    resume: bool = False,
) -> RunOptions:
    """Check run options and freeze them into a :class:`~vidcolor.options.RunOptions`.

    Args:
        weights: registry name or ``.safetensors`` path.
        device: ``auto``, ``cpu`` or ``cuda``.
        batch_size: frames per inference batch (>= 1); results do not depend on it.
        working_size: shorter side the network sees, a multiple of 8 from 64 to 1024.
        precision: ``auto`` (autocast on CUDA), ``fp32``, ``bf16`` or ``fp16`` (CUDA).
        temporal: run temporal smoothing.
        temporal_strength: 0..1.
        temporal_window: frames of look-ahead of the backward pass (0..32).
        codec: output video codec (PyAV name) or None for the container's default.
        crf: constant rate factor, 0..63.
        overwrite: replace an existing output.
        strict: a decode error is an error instead of a filled frame.
        resume: continue an interrupted run from its last finished shot.

    Returns:
        The frozen options.

    Raises:
        InputError: naming the option, the value found and the values expected.
    """
    if device not in DEVICES:
        raise InputError(f"found {device!r}; expected one of {', '.join(DEVICES)}",
                         field="device")
    if precision not in PRECISIONS:
        raise InputError(f"found {precision!r}; expected one of {', '.join(PRECISIONS)}",
                         field="precision")
    _int_in("batch_size", batch_size, 1, 4096)
    _int_in("working_size", working_size, 64, 1024)
    if working_size % 8:
        raise InputError(f"found {working_size}; expected a multiple of 8", field="working_size")
    _int_in("temporal_window", temporal_window, 0, 32)
    _int_in("crf", crf, 0, 63)
    if isinstance(temporal_strength, bool) or not isinstance(temporal_strength, (int, float)) \
            or not 0.0 <= float(temporal_strength) <= 1.0:
        raise InputError(f"found {temporal_strength!r}; expected a number in [0, 1]",
                         field="temporal_strength")
    return RunOptions(
        model=ModelOptions(weights=str(weights), device=device, batch_size=batch_size,
                           working_size=working_size, precision=precision),
        temporal=TemporalOptions(enabled=bool(temporal), strength=float(temporal_strength),
                                 window=temporal_window),
        encode=EncodeOptions(codec=codec, crf=crf, overwrite=bool(overwrite)),
        strict=bool(strict),
        resume=bool(resume),
    )


def _int_in(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not lo <= int(value) <= hi:
        raise InputError(f"found {value!r}; expected an integer in [{lo}, {hi}]", field=name)


def _options_from(kwargs: dict[str, Any]) -> RunOptions:
    unknown = sorted(set(kwargs) - _VIDEO_OPTIONS)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; expected some of "
                         f"{', '.join(sorted(_VIDEO_OPTIONS))}", field="options")
    return build_options(**kwargs)


# --------------------------------------------------------------------------- hints


def load_video_hints(hints: Any) -> Any:
    """Hints for a video run, from what a caller may pass.

    Args:
        hints: None, a hints directory (str or Path), a ``HintSet``, or a dict mapping frame
            index to a ``FrameHints`` or to a dict in the hint-file format.

    Returns:
        None, a ``HintSet`` or a ``{frame: FrameHints}`` dict.

    Raises:
        HintError: a bad hints directory or hint value.
    """
    from vidcolor.hints.format import FrameHints, load_hints, parse_hints

    if hints is None:
        return None
    if isinstance(hints, (str, Path)):
        return load_hints(hints)
    if isinstance(hints, dict):
        out = {}
        for key, value in hints.items():
            if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0:
                raise HintError(f"found key {key!r}; expected frame indices (int >= 0)",
                                field="hints")
            out[int(key)] = value if isinstance(value, FrameHints) else parse_hints(
                value, source=f"hints[{key}]", frame=int(key))
        return out
    return hints


def load_image_hints(hints: Any) -> Any:
    """Hints for one image.

    Args:
        hints: None; a path to a hint JSON file or to an RGBA PNG scribble layer; a dict in
            the hint-file format (``frame`` may be left out); or a ``FrameHints``.

    Returns:
        A ``FrameHints`` or None.

    Raises:
        HintError: a file or value that breaks the hint format.
    """
    from vidcolor.hints.format import FrameHints, parse_hints
    from vidcolor.imagefile import read_image

    if hints is None or isinstance(hints, FrameHints):
        return hints
    if isinstance(hints, (str, Path)):
        path = Path(hints)
        if path.suffix.lower() == ".png":
            layer = read_image(path, error=HintError)
            if layer.shape[2] != 4:
                raise HintError("a PNG without alpha; expected an RGBA scribble layer",
                                path=path)
            return FrameHints(frame=0, scribble=layer, sources=(str(path),))
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise HintError(f"cannot read the hint file: {exc.strerror or exc}",
                            path=path) from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise HintError(f"invalid JSON ({exc}); expected a hint file", path=path) from None
        return parse_hints(data, source=path, frame=_image_frame(data))
    if isinstance(hints, dict):
        return parse_hints(hints, source="hints", frame=_image_frame(hints))
    raise HintError(f"found {type(hints).__name__}; expected a path, a dict or FrameHints",
                    field="hints")


def _image_frame(data: Any) -> int | None:
    # An image has one frame: a hint without a "frame" field is for it.
    return 0 if isinstance(data, dict) and "frame" not in data else None


# --------------------------------------------------------------------------- images


def as_gray(image: Any, *, max_pixels: int = 1 << 26) -> np.ndarray:
    """The full-range gray of an image argument.

    Args:
        image: a path to an image file, or an ``(H, W)`` / ``(H, W, 3)`` / ``(H, W, 4)``
            uint8 array (RGB order; color is reduced to its luma).
        max_pixels: largest image accepted from a file.

    Returns:
        ``(H, W)`` uint8.

    Raises:
        InputError: not an image, or a wrong shape or dtype.
    """
    if isinstance(image, (str, Path)):
        from vidcolor.io.images import read_image

        image = read_image(image, alpha=False, max_pixels=max_pixels)
    if not isinstance(image, np.ndarray):
        raise InputError(f"found {type(image).__name__}; expected a path or a uint8 array",
                         field="image")
    if image.dtype != np.uint8:
        raise InputError(f"found dtype {image.dtype}; expected uint8", field="image")
    if image.ndim == 2:
        gray = image
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        gray = cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)
    else:
        raise InputError(f"found shape {image.shape}; expected (H, W), (H, W, 3) or (H, W, 4)",
                         field="image")
    if min(gray.shape) < 1:
        raise InputError(f"found shape {image.shape}; expected a non-empty image",
                         field="image")
    return np.ascontiguousarray(gray)


# --------------------------------------------------------------------------- colorizer


class Colorizer:
    """A loaded hint network and the settings to run it; reuse it for many calls.

    Args:
        weights: registry name (``"default"``) or path to a ``.safetensors`` file.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        batch_size: frames per inference batch; results do not depend on it.
        working_size: shorter side, in pixels, at which the network sees frames.
        precision: ``auto`` or ``fp32``.

    Example:
        >>> colorizer = vidcolor.Colorizer(device="cpu")
        >>> rgb = colorizer.colorize_image(gray_array)
    """

    def __init__(self, weights: str | Path = "default", device: str = "auto", *,
                 batch_size: int = 4, working_size: int = 256, precision: str = "auto"):
        self.options = build_options(weights=str(weights), device=device, batch_size=batch_size,
                                     working_size=working_size, precision=precision)
        self.model = pipeline.load_model(self.options.model)

    @classmethod
    def from_model(cls, model: Any, *, batch_size: int = 4, working_size: int = 256
                   ) -> Colorizer:
        """Wrap an already built network (anything with ``predict_ab``), e.g. random weights.

        Args:
            model: an object with ``predict_ab(lightness, hint_ab, hint_mask)``
                (``models.inference.HintColorizer``).
            batch_size: frames per inference batch.
            working_size: shorter side the network sees.

        Returns:
            A :class:`Colorizer` using ``model``.
        """
        self = cls.__new__(cls)
        self.options = build_options(batch_size=batch_size, working_size=working_size,
                                     device=str(getattr(model, "device", "cpu")).split(":")[0])
        self.model = pipeline.ChromaModel(model)
        return self

    def colorize_image(self, image: Any, hints: Any = None) -> np.ndarray:
        """Colorize one image.

        Args:
            image: a path, or an ``(H, W)`` or ``(H, W, 3)`` uint8 array.
            hints: see :func:`load_image_hints`.

        Returns:
            ``(H, W, 3)`` uint8 sRGB; its lightness is the input's.
        """
        gray = as_gray(image)
        return pipeline.colorize_image_gray(gray, load_image_hints(hints), self.model,
                                            self.options.model.working_size)

    def suggest_colors(self, image: Any, x: float, y: float, hints: Any = None,
                       k: int = 5) -> list[Any]:
        """The paper's data-driven palette: likely colors at a point, given the hints.

        Args:
            image: a path, or an ``(H, W)`` or ``(H, W, 3)`` uint8 array.
            x: horizontal position as a fraction of the width, in [0, 1].
            y: vertical position as a fraction of the height, in [0, 1].
            hints: see :func:`load_image_hints`.
            k: how many colors.

        Returns:
            Up to ``k`` ``PaletteColor(ab, rgb_hex, probability)``, most likely first.
        """
        return pipeline.suggest_colors_gray(as_gray(image), x, y, load_image_hints(hints),
                                            self.model, k)

    def colorize_frames(self, frames: Iterable[np.ndarray], hints: Any = None, *,
                        temporal: bool = True, temporal_strength: float = 0.8
                        ) -> Iterator[np.ndarray]:
        """Colorize a sequence of frames the caller supplies, yielding them in order.

        Frames are processed a shot at a time (cuts are detected as they come), so memory
        holds one shot of frames. A shot without hints borrows from the most similar hinted
        shot before it; reference images guide their shot as in a video run.

        Args:
            frames: ``(H, W)`` or ``(H, W, 3)`` uint8 arrays, all the same size.
            hints: see :func:`load_video_hints` (frame indices count from the first frame).
            temporal: run temporal smoothing.
            temporal_strength: 0..1.

        Yields:
            ``(H, W, 3)`` uint8 sRGB frames, one per input frame, in order.
        """
        options = replace(self.options, temporal=build_options(
            temporal=temporal, temporal_strength=temporal_strength).temporal)
        hint_frames = pipeline.hint_frames_of(load_video_hints(hints))
        grays = (as_gray(f) for f in frames)
        yield from pipeline.colorize_gray_stream(grays, hint_frames, self.model, options)

    def colorize_video(self, src: str | Path, dst: str | Path | None = None, hints: Any = None,
                       on_frame: OnFrame | None = None, *, progress: Any = None,
                       cancel: CancelToken | None = None, **options: Any) -> RunReport:
        """Colorize a video file. See :func:`vidcolor.colorize_video`."""
        run_options = _options_from({**self._model_kwargs(), **options})
        return pipeline.run_video(src, default_output(src) if dst is None else dst,
                                  load_video_hints(hints), run_options, model=self.model,
                                  on_frame=on_frame, progress=progress, cancel=cancel)

    def _model_kwargs(self) -> dict[str, Any]:
        m = self.options.model
        return {"weights": m.weights, "device": m.device, "batch_size": m.batch_size,
                "working_size": m.working_size, "precision": m.precision}


@functools.lru_cache(maxsize=2)
def default_colorizer(weights: str = "default", device: str = "auto") -> Colorizer:
    """The cached :class:`Colorizer` the module-level functions use.

    Args:
        weights: registry name or path.
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        A shared :class:`Colorizer` (built on first use).
    """
    return Colorizer(weights, device)


# --------------------------------------------------------------------------- module functions


def colorize_video(src: str | Path, dst: str | Path | None = None, hints: Any = None,
                   on_frame: OnFrame | None = None, **options: Any) -> RunReport:
    """Colorize a video file, keeping its lightness, timing, audio and metadata.

    Args:
        src: the input video.
        dst: the output; default ``<stem>_color<suffix>`` beside the input. Its extension
            picks the container (``.mp4``, ``.mkv``, ``.mov``, ``.webm``).
        hints: a hints directory, a ``HintSet``, a ``{frame: hint dict}`` dict, or None.
        on_frame: called in order, on the caller's thread, with each finished
            :class:`vidcolor.frames.ColoredFrame` (index, time, gray, color). Returning
            False or raising :class:`vidcolor.Cancelled` stops the run; no output is left.
        **options: ``weights``, ``device``, ``batch_size``, ``working_size``, ``precision``,
            ``temporal``, ``temporal_strength``, ``temporal_window``, ``codec``, ``crf``,
            ``overwrite``, ``strict``, ``resume`` (see :func:`build_options`), plus
            ``progress`` (a :class:`vidcolor.progress.Progress`) and ``cancel``
            (a :class:`vidcolor.pipeline.CancelToken`).

    Returns:
        The :class:`~vidcolor.pipeline.RunReport`: frames, seconds, fps, shots, borrowing,
        decode errors filled.
    """
    progress = options.pop("progress", None)
    cancel = options.pop("cancel", None)
    colorizer = default_colorizer(str(options.get("weights", "default")),
                                  options.get("device", "auto"))
    return colorizer.colorize_video(src, dst, hints, on_frame, progress=progress, cancel=cancel,
                                    **options)


def colorize_frames(frames: Iterable[np.ndarray], hints: Any = None, *,
                    weights: str = "default", device: str = "auto", temporal: bool = True,
                    temporal_strength: float = 0.8) -> Iterator[np.ndarray]:
    """Colorize frames supplied as numpy arrays; a generator yielding them in order.

    Args:
        frames: ``(H, W)`` or ``(H, W, 3)`` uint8 arrays, all the same size.
        hints: ``{frame index: hint dict or FrameHints}``, a hints directory, or None.
        weights: registry name or path.
        device: ``auto``, ``cpu`` or ``cuda``.
        temporal: run temporal smoothing.
        temporal_strength: 0..1.

    Yields:
        ``(H, W, 3)`` uint8 sRGB frames.
    """
    colorizer = default_colorizer(str(weights), device)
    yield from colorizer.colorize_frames(frames, hints, temporal=temporal,
                                         temporal_strength=temporal_strength)


def colorize_image(image: Any, hints: Any = None, *, weights: str = "default",
                   device: str = "auto") -> np.ndarray:
    """Colorize one image.

    Args:
        image: a path, or an ``(H, W)`` or ``(H, W, 3)`` uint8 array.
        hints: a path to a hint JSON file (or RGBA PNG scribble), a dict in the hint-file
            format, a ``FrameHints``, or None.
        weights: registry name or path.
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        ``(H, W, 3)`` uint8 sRGB.
    """
    return default_colorizer(str(weights), device).colorize_image(image, hints)


def suggest_colors(image: Any, x: float, y: float, hints: Any = None, k: int = 5, *,
                   weights: str = "default", device: str = "auto") -> list[Any]:
    """The k most likely colors at a point of an image, given the current hints.

    Args:
        image: a path, or an ``(H, W)`` or ``(H, W, 3)`` uint8 array.
        x: horizontal position as a fraction of the width, in [0, 1].
        y: vertical position as a fraction of the height, in [0, 1].
        hints: a path to a hint JSON file, a dict in the hint-file format, a ``FrameHints``,
            or None.
        k: how many colors.
        weights: registry name or path.
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        Up to ``k`` ``PaletteColor(ab, rgb_hex, probability)``, most likely first.
    """
    return default_colorizer(str(weights), device).suggest_colors(image, x, y, hints, k)
