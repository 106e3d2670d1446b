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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidcolor import run
from vidcolor.atomic import check_output_path
from vidcolor.errors import HintError, InputError, VidcolorError
from vidcolor.hints.format import FrameHints, HintSet, load_hints, parse_hints
from vidcolor.imagefile import read_image as read_image_file
from vidcolor.io.images import IMAGE_FORMATS, read_image, write_image
from vidcolor.io.probe import VideoInfo, probe
from vidcolor.models import registry, weights
from vidcolor.models.palette import PaletteColor
from vidcolor.options import (
    BACKENDS,
    CHROMA,
    DEFAULTS,
    DEVICES,
    ENGINES,
    RunOptions,
    build_options,
    options_from,
)
from vidcolor.progress import Progress, make_progress
from vidcolor.run import CancelToken, OnFrame, PreviewSession, RunReport
from vidcolor.run.plan import HintFrames

__all__ = [
    "BACKENDS", "CHROMA", "DEFAULTS", "DEVICES", "ENGINES", "CancelToken", "Colorizer",
    "OnFrame", "Progress",
    "RunReport",
    "build_options", "colorize_frames", "colorize_image", "colorize_image_file",
    "colorize_video", "default_output", "download_weights", "export_hint_templates",
    "find_shots", "import_weights", "list_weights", "load_image_hints", "load_video_hints",
    "make_progress", "open_studio", "probe_video", "run_video", "serve_studio",
    "suggest_colors",
]

VideoHints = str | Path | HintSet | dict[int, FrameHints | dict[str, Any]] | None
ImageHints = str | Path | FrameHints | dict[str, Any] | None


def default_output(src: str | Path) -> Path:
    """The default output path of a run: ``<stem>_color<suffix>`` beside the input.

    For an image sequence (a folder, or a pattern in a folder ``scan/``) it is
    ``scan_color.mkv`` beside the folder.

    Args:
        src: the input video path.

    Returns:
        The output path.
    """
    src = Path(src)
    if src.is_dir() or "%" in src.name:  # an image sequence: a movie beside its folder
        folder = src if src.is_dir() else src.parent
        return folder.with_name(f"{folder.name}_color.mkv")
    return src.with_name(f"{src.stem}_color{src.suffix}")


# --------------------------------------------------------------------------- hints


def load_video_hints(hints: VideoHints) -> HintSet | HintFrames | None:
    """Hints for a video run, from what a caller may pass.

    Args:
        hints: None, a hints directory (str or Path), a ``HintSet``, or a dict mapping frame
            index to a ``FrameHints`` or to a dict in the hint-file format.

    Returns:
        None, a ``HintSet`` or a ``{frame: FrameHints}`` dict.

    Raises:
        HintError: a bad hints directory or hint value.
    """
    if hints is None or isinstance(hints, HintSet):
        return hints
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
    raise HintError(f"found {type(hints).__name__}; expected a hints folder, a HintSet or a "
                    "dict", field="hints")


def load_image_hints(hints: ImageHints) -> FrameHints | None:
    """Hints for one image.

    Args:
        hints: None; a path to a hint JSON file or to an RGBA PNG scribble layer; a dict in
            the hint-file format (``frame`` may be left out); or a ``FrameHints``.

    Returns:
        A ``FrameHints`` or None.

    Raises:
        HintError: a file or value that breaks the hint format.
    """
    if hints is None or isinstance(hints, FrameHints):
        return hints
    if isinstance(hints, (str, Path)):
        path = Path(hints)
        if path.suffix.lower() == ".png":
            layer = read_image_file(path, error=HintError)
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


def _image_frame(data: object) -> int | None:
    # An image has one frame: a hint without a "frame" field is for it.
    return 0 if isinstance(data, dict) and "frame" not in data else None


# --------------------------------------------------------------------------- images


def as_gray(image: str | Path | np.ndarray, *, max_pixels: int = 1 << 26) -> np.ndarray:
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

    def __init__(self, weights: str | Path = DEFAULTS.model.weights,
                 device: str = DEFAULTS.model.device, *,
                 batch_size: int = DEFAULTS.model.batch_size,
                 working_size: int = DEFAULTS.model.working_size,
                 precision: str = DEFAULTS.model.precision,
                 backend: str = DEFAULTS.model.backend):
        self.options = build_options(weights=str(weights), device=device, batch_size=batch_size,
                                     working_size=working_size, precision=precision,
                                     backend=backend)
        self.model = run.load_model(self.options.model)
        self._wrapped = False

    @classmethod
    def from_model(cls, model: run.model.HintNetwork, *,
                   batch_size: int = DEFAULTS.model.batch_size,
                   working_size: int = DEFAULTS.model.working_size) -> Colorizer:
        """Wrap an already built network (anything with ``predict_ab``), e.g. random weights.

        Args:
            model: an object with ``predict_ab(lightness, hint_ab, hint_mask)``
                (``models.inference.HintColorizer``).
            batch_size: frames per inference batch.
            working_size: shorter side the network sees.

        Returns:
            A :class:`Colorizer` using ``model`` for every call; a video run that asks for
            other weights, device or precision is refused (the network is not loadable).
        """
        self = cls.__new__(cls)
        self.options = build_options(batch_size=batch_size, working_size=working_size,
                                     device=str(getattr(model, "device", "cpu")).split(":")[0])
        self.model = run.ChromaModel(model)
        self._wrapped = True
        return self

    def colorize_image(self, image: str | Path | np.ndarray, hints: ImageHints = None
                       ) -> np.ndarray:
        """Colorize one image.

        Args:
            image: a path, or an ``(H, W)`` or ``(H, W, 3)`` uint8 array.
            hints: see :func:`load_image_hints`.

        Returns:
            ``(H, W, 3)`` uint8 sRGB; its lightness is the input's.
        """
        gray = as_gray(image)
        return run.colorize_image_gray(gray, load_image_hints(hints), self.model,
                                       self.options.model.working_size)

    def suggest_colors(self, image: str | Path | np.ndarray, x: float, y: float,
                       hints: ImageHints = None, k: int = 5) -> list[PaletteColor]:
        """The paper's data-driven palette: likely colors at a point, given the hints.

        The network sees the image at the size :meth:`colorize_image` uses.

        Args:
            image: a path, or an ``(H, W)`` or ``(H, W, 3)`` uint8 array.
            x: horizontal position as a fraction of the width, in [0, 1].
            y: vertical position as a fraction of the height, in [0, 1].
            hints: see :func:`load_image_hints`.
            k: how many colors.

        Returns:
            Up to ``k`` ``PaletteColor(ab, rgb_hex, probability)``, most likely first.
        """
        return run.suggest_colors_gray(as_gray(image), x, y, load_image_hints(hints),
                                       self.model, self.options.model.working_size, k)

    def colorize_frames(self, frames: Iterable[np.ndarray], hints: VideoHints = None, *,
                        temporal: bool = DEFAULTS.temporal.enabled,
                        temporal_strength: float = DEFAULTS.temporal.strength
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
        hint_frames = run.hint_frames_of(load_video_hints(hints))
        grays = (as_gray(f) for f in frames)
        yield from run.colorize_gray_stream(grays, hint_frames, self.model, options)

    def colorize_video(self, src: str | Path, dst: str | Path | None = None,
                       hints: VideoHints = None, on_frame: OnFrame | None = None, *,
                       progress: Progress | None = None, cancel: CancelToken | None = None,
                       **options: Any) -> RunReport:
        """Colorize a video file. See :func:`vidcolor.colorize_video`.

        Options given here override the colorizer's. Other ``weights``, ``device`` or
        ``precision`` than the loaded model's load that model for this run (the colorizer
        keeps its own); for a colorizer made with :meth:`from_model` they are refused.
        """
        run_options = options_from({**self._model_kwargs(), **options})
        model: run.ChromaModel | None = self.model
        if run_options.model.weights != self.options.model.weights \
                or run_options.model.device != self.options.model.device \
                or run_options.model.precision != self.options.model.precision:
            if self._wrapped:
                raise InputError(
                    "this Colorizer wraps a network given to from_model; found options "
                    f"weights={run_options.model.weights!r}, device={run_options.model.device!r}"
                    f", precision={run_options.model.precision!r}; expected none of them, or "
                    "a Colorizer built with them", field="options")
            model = None  # the run loads the model its options name
        return run.run_video(src, default_output(src) if dst is None else dst,
                             load_video_hints(hints), run_options, model=model,
                             on_frame=on_frame, progress=progress, cancel=cancel)

    def _model_kwargs(self) -> dict[str, Any]:
        m = self.options.model
        return {"weights": m.weights, "device": m.device, "batch_size": m.batch_size,
                "working_size": m.working_size, "precision": m.precision}


@functools.lru_cache(maxsize=2)
def default_colorizer(weights: str = DEFAULTS.model.weights,
                      device: str = DEFAULTS.model.device) -> Colorizer:
    """The cached :class:`Colorizer` the module-level functions use.

    Args:
        weights: registry name or path.
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        A shared :class:`Colorizer` (built on first use).
    """
    return Colorizer(weights, device)


# --------------------------------------------------------------------------- module functions


def run_video(src: str | Path, dst: str | Path | None, hints: VideoHints, options: RunOptions,
              *, on_frame: OnFrame | None = None, progress: Progress | None = None,
              cancel: CancelToken | None = None) -> RunReport:
    """Colorize a video file with frozen options (the CLI's video run).

    Unlike :func:`colorize_video` nothing is cached: the paths and the input are checked
    first, then the model named by ``options`` is loaded for this run.

    Args:
        src: the input video.
        dst: the output, or None for :func:`default_output`.
        hints: see :func:`load_video_hints`.
        options: from :func:`build_options`.
        on_frame: see :func:`colorize_video`.
        progress: a :class:`vidcolor.progress.Progress`.
        cancel: a :class:`CancelToken` that signal handlers may set.

    Returns:
        The :class:`RunReport`.
    """
    return run.run_video(src, default_output(src) if dst is None else dst,
                         load_video_hints(hints), options, on_frame=on_frame,
                         progress=progress, cancel=cancel)


def colorize_video(src: str | Path, dst: str | Path | None = None, hints: VideoHints = None,
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
            ``overwrite``, ``strict``, ``resume``, ``lossless``, ``chroma``, ``fps`` (see
            :func:`build_options`), plus
            ``progress`` (a :class:`vidcolor.progress.Progress`) and ``cancel``
            (a :class:`CancelToken`).

    Returns:
        The :class:`RunReport`: frames, seconds, fps, shots, borrowing, decode errors filled.
    """
    progress = options.pop("progress", None)
    cancel = options.pop("cancel", None)
    colorizer = default_colorizer(str(options.get("weights", DEFAULTS.model.weights)),
                                  options.get("device", DEFAULTS.model.device))
    return colorizer.colorize_video(src, dst, hints, on_frame, progress=progress, cancel=cancel,
                                    **options)


def colorize_frames(frames: Iterable[np.ndarray], hints: VideoHints = None, *,
                    weights: str = DEFAULTS.model.weights, device: str = DEFAULTS.model.device,
                    temporal: bool = DEFAULTS.temporal.enabled,
                    temporal_strength: float = DEFAULTS.temporal.strength
                    ) -> Iterator[np.ndarray]:
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


def colorize_image(image: str | Path | np.ndarray, hints: ImageHints = None, *,
                   weights: str = DEFAULTS.model.weights,
                   device: str = DEFAULTS.model.device) -> np.ndarray:
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


def colorize_image_file(src: str | Path, dst: str | Path, hints: ImageHints = None, *,
                        weights: str = DEFAULTS.model.weights,
                        device: str = DEFAULTS.model.device, overwrite: bool = False) -> Path:
    """Colorize an image file into another (``vidcolor image``), written atomically.

    The output is checked before the model is loaded: it may not be the input, nor exist
    without ``overwrite``, and its extension must be an image format.

    Returns:
        The written path.
    """
    src, dst = Path(src), Path(dst)
    check_output_path(dst, inputs=(src,), overwrite=overwrite)  # before the model loads
    if dst.suffix.lower() not in IMAGE_FORMATS:
        raise InputError(f"found {dst.suffix or 'no extension'!r}; expected one of "
                         f"{', '.join(IMAGE_FORMATS)}", path=dst, field="output")
    parsed = load_image_hints(hints)
    rgb = Colorizer(weights, device).colorize_image(src, parsed)
    write_image(dst, rgb, overwrite=overwrite, inputs=(src,))
    return dst


def suggest_colors(image: str | Path | np.ndarray, x: float, y: float,
                   hints: ImageHints = None, k: int = 5, *,
                   weights: str = DEFAULTS.model.weights,
                   device: str = DEFAULTS.model.device) -> list[PaletteColor]:
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


# --------------------------------------------------------------------------- film tools


def probe_video(src: str | Path) -> VideoInfo:
    """What a video file holds (``vidcolor probe``)."""
    return probe(src)


def find_shots(src: str | Path) -> dict[str, object]:
    """The hard cuts of a film (``vidcolor shots``); see ``vidcolor.run.tools.find_shots``."""
    return run.find_shots(src)


def export_hint_templates(src: str | Path, directory: str | Path,
                          frames: Sequence[int] | None = None) -> list[Path]:
    """Frames to paint on and empty hint files (``vidcolor hints template``)."""
    return run.export_hint_templates(src, directory, frames=frames)


# --------------------------------------------------------------------------- weights


def list_weights() -> list[tuple[str, Path | None]]:
    """Every known weights entry and its file, or None where the file is missing."""
    out = []
    for entry in registry.list_weights():
        try:
            path = registry.resolve_path(entry)
        except VidcolorError:
            path = None
        out.append((entry.name, path if path is not None and path.exists() else None))
    return out


def import_weights(path: str | Path, name: str | None = None) -> str:
    """Import a weights file (``.safetensors``, or the official ``.pth``); returns its name."""
    return weights.import_weights(Path(path), name=name).name


def download_weights(url: str, sha256: str, name: str) -> tuple[str, str]:
    """Download and register weights; returns ``(name, sha256)``."""
    entry = weights.download_weights(url, sha256, name)
    return entry.name, entry.sha256


# --------------------------------------------------------------------------- studio

#: The command that installs what ``vidcolor studio`` needs.
STUDIO_INSTALL = "pip install 'vidcolor[studio]'  (starlette and uvicorn)"


def open_studio(src: str | Path, hints_dir: str | Path, **options: Any) -> PreviewSession:
    """Open a film for live preview and hint editing (what ``vidcolor studio`` serves).

    Args:
        src: the film.
        hints_dir: its hints folder (created if missing); edits are written there.
        **options: run options as for :func:`build_options` (``weights``, ``device``,
            ``working_size``, ``temporal`` ...): the options a render from the studio uses.

    Returns:
        A :class:`vidcolor.run.PreviewSession`; call ``close()`` when done.
    """
    run_options = build_options(**options)
    return PreviewSession(src, hints_dir, run_options, run.load_model(run_options.model))


def serve_studio(src: str | Path, hints_dir: str | Path | None = None, *, port: int = 0,
                 open_browser: bool = True, output: str | Path | None = None,
                 **options: Any) -> None:
    """Serve the studio page for a film on 127.0.0.1 until interrupted (``vidcolor studio``).

    Args:
        src: the film.
        hints_dir: its hints folder; default ``<stem>_hints`` beside the film.
        port: the port, or 0 for a free one.
        open_browser: open the page in the default browser.
        output: where the Render button writes; default ``<stem>_color.mp4`` beside the film.
        **options: run options (see :func:`open_studio`).

    Raises:
        InputError: starlette or uvicorn is missing (the message names the install
            command), the film cannot be read, or bad options.
    """
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(f"{' and '.join(missing)} not installed; expected the studio extra: "
                         f"{STUDIO_INSTALL}", field="studio")
    from vidcolor.studio.server import serve

    src = Path(src)
    if not src.exists():
        raise InputError("no such file; expected a video file", path=src)
    hints = Path(hints_dir) if hints_dir is not None else src.with_name(f"{src.stem}_hints")
    dst = Path(output) if output is not None else src.with_name(f"{src.stem}_color.mp4")
    serve(src, hints, dst, port=port, open_browser=open_browser, options=options)
