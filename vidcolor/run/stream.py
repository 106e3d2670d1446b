"""Colorize pictures held in memory: one image, a color suggestion, a stream of frames.

The same steps as a file run (working resolution, tracking, borrowing, network, smoothing,
compose) without a work folder: a stream is cut into shots as frames arrive, and one shot
is held in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from vidcolor.color import gray_to_lightness
from vidcolor.errors import InputError
from vidcolor.frames import working_shape
from vidcolor.hints import match
from vidcolor.hints.format import FrameHints
from vidcolor.hints.rasterize import rasterize_hints
from vidcolor.io.decode import resize_gray
from vidcolor.models.inference import HintColorizer
from vidcolor.models.palette import PaletteColor, suggest_colors
from vidcolor.options import RunOptions
from vidcolor.run.cancel import CancelToken
from vidcolor.run.compose import colorize_gray
from vidcolor.run.model import ChromaModel
from vidcolor.run.plan import HintFrames, borrow_shot_hints, own_shot_hints
from vidcolor.run.shot import colorize_shot, compute_shot_flows, rasterize
from vidcolor.temporal.shots import CutDetector, Shot


def to_working(gray: np.ndarray, working_size: int) -> np.ndarray:
    """``(H, W)`` uint8 gray at its working resolution (:func:`vidcolor.frames.working_shape`)."""
    h, w = working_shape(gray.shape[0], gray.shape[1], working_size)
    return resize_gray(gray, (w, h))


def colorize_image_gray(gray: np.ndarray, hints: FrameHints | None, model: ChromaModel,
                        working_size: int) -> np.ndarray:
    """Colorize one gray image with optional hints.

    Args:
        gray: ``(H, W)`` uint8 full-range gray.
        hints: the image's hints (coordinates are fractions of the image), or None.
        model: the loaded network.
        working_size: shorter side the network sees.

    Returns:
        ``(H, W, 3)`` uint8 sRGB whose lightness is ``gray``'s.
    """
    small = to_working(gray, working_size)
    shape = small.shape
    hint_ab = np.zeros((1, *shape, 2), np.float32)
    hint_mask = np.zeros((1, *shape), np.float32)
    if hints is not None:
        hint_ab[0], hint_mask[0] = rasterize(hints, shape)
    ab = model.predict(gray_to_lightness(small)[None], hint_ab, hint_mask, 1)[0]
    return colorize_gray(gray, ab, backend=model.backend)


def suggest_colors_gray(gray: np.ndarray, x: float, y: float, hints: FrameHints | None,
                        model: ChromaModel, working_size: int, k: int = 5
                        ) -> list[PaletteColor]:
    """The k most likely colors at a point of a gray image, given its hints.

    The network sees the image at the working resolution of :func:`colorize_image_gray`.

    Args:
        gray: ``(H, W)`` uint8 full-range gray.
        x: horizontal position as a fraction of the width, in [0, 1].
        y: vertical position as a fraction of the height, in [0, 1].
        hints: the image's hints, or None.
        model: the loaded network (its class head gives the palette).
        working_size: shorter side the network sees.
        k: how many colors.

    Returns:
        ``(ab, rgb_hex, probability)`` records, most likely first.
    """
    network: HintColorizer = model.model  # type: ignore[assignment] - its class head is used
    arrays = None if hints is None else rasterize_hints(hints, *gray.shape)
    return suggest_colors(network, gray, x, y, arrays, k, working_size=working_size)


def colorize_gray_stream(grays: Iterable[np.ndarray], hint_frames: HintFrames,
                         model: ChromaModel, options: RunOptions,
                         cancel: CancelToken | None = None) -> Iterator[np.ndarray]:
    """Colorize a stream of gray frames shot by shot, yielding sRGB frames in order.

    Frames are buffered until a cut (``temporal.shots.CutDetector``) or the end, then the
    shot goes through the same per-shot step as a video run (``run.shot.colorize_shot``), in
    memory. Memory holds one shot. Hints of frames inside a shot are tracked through it,
    reference images guide their shot, and a shot without hints borrows from the most
    similar hinted shot seen so far (a video run, which sees the whole clip first, also
    borrows from later shots).

    Args:
        grays: ``(H, W)`` uint8 full-range frames, all the same size.
        hint_frames: ``{frame index: FrameHints}``.
        model: the loaded network.
        options: run options (model and temporal parts are used).
        cancel: checked between shots.

    Yields:
        ``(H, W, 3)`` uint8 sRGB frames.
    """
    detector = CutDetector()
    shot_frames: list[np.ndarray] = []
    shot_small: list[np.ndarray] = []
    start = 0
    full_shape: tuple[int, ...] | None = None
    shot_index = 0
    hinted: list[match.HintedShot] = []  # hinted shots so far, to borrow from

    def finish() -> Iterator[np.ndarray]:
        nonlocal shot_index
        if not shot_frames:
            return
        shot = Shot(start, start + len(shot_frames), index=shot_index)

        def luma(i: int) -> np.ndarray:
            return shot_small[i - shot.start]

        flows = list(compute_shot_flows(luma, shot))
        hints = own_shot_hints(shot, hint_frames, luma, hinted)
        borrow_shot_hints(shot, hints, luma, hinted)
        out: dict[int, np.ndarray] = {}
        colorize_shot(shot, luma, flows.__getitem__, hints,
                      model, options, out.__setitem__, cancel)
        for i, gray in enumerate(shot_frames):
            yield colorize_gray(gray, out.pop(shot.start + i), backend=model.backend)
        shot_index += 1

    for index, gray in enumerate(grays):
        if cancel is not None:
            cancel.check()
        if full_shape is None:
            full_shape = gray.shape
        elif gray.shape != full_shape:
            raise InputError(f"frame {index} is {gray.shape}; expected {full_shape} like "
                             "frame 0", field="frames")
        small = to_working(gray, options.model.working_size)
        if detector.push(small) and shot_frames:
            yield from finish()
            shot_frames, shot_small, start = [], [], index
        shot_frames.append(gray)
        shot_small.append(small)
    yield from finish()
