"""Hard-cut detection on luma alone, shots, and timecodes.

Black-and-white footage has no color to compare, and it flickers, has grain, scratches and
exposure changes. The detector compares consecutive frames at a tiny size (32 rows) after
normalising each to zero mean and unit contrast, so global brightness changes (flicker, a
blast lighting the scene) score low, and the mean absolute difference of the normalised
thumbnails is high only when the picture's layout changes. A frame starts a new shot when
its score is above an absolute threshold *and* well above the recent scores of the current
shot (fast motion raises both, a cut only the first), or when a lower score is very far
above them (a still shot cut to a similar-looking one).

Chosen over PySceneDetect by measured accuracy on real footage with known cuts and on fast
single-shot clips: see benchmarks/shots.py and benchmarks/README.md.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

import cv2
import numpy as np

from vidcolor.errors import InputError

#: Rows of the thumbnail compared (its width keeps the aspect ratio).
THUMB_ROWS = 32
#: Score (mean absolute difference of normalised thumbnails, in contrast units) above which a
#: frame can start a new shot. Measured: cuts score 0.78..1.25, motion at most 0.53.
THRESHOLD = 0.65
#: A cut's score must also be this many times the mean score of the recent frames.
RATIO = 1.8
#: A lower score also makes a cut when it is this many times that mean (a still shot cut to
#: a similar-looking one). Measured: cuts 15..25 times, motion and flicker at most 3.1 times.
LOW_THRESHOLD = 0.3
HIGH_RATIO = 8.0
#: Frames of the current shot whose scores form that mean.
HISTORY = 8
#: Shortest shot, in frames: a second cut sooner than this after one is ignored.
MIN_SHOT = 6
# Added to the standard deviation so that flat frames (fades, black) are not blown up.
_CONTRAST_FLOOR = 4.0
# Smallest baseline used in the ratio test (right after a cut there is no history).
_BASELINE_FLOOR = 0.05


def _thumbnail(gray: np.ndarray, rows: int) -> np.ndarray:
    h, w = gray.shape
    cols = max(8, int(round(rows * w / h)))
    small = cv2.resize(gray, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (small - small.mean()) / (small.std() + _CONTRAST_FLOOR)


class CutDetector:
    """Streaming hard-cut detector fed one luma frame at a time.

    Args:
        threshold: smallest score of a cut (see :data:`THRESHOLD`).
        ratio: a cut's score over the mean of the last ``history`` scores, at least.
        history: frames in that mean.
        min_shot: shortest shot in frames.

    Attributes:
        cuts: indices (0-based, in the order fed) of frames that start a new shot.
        scores: the score of every frame fed (0.0 for the first).

    Example:
        >>> det = CutDetector(min_shot=1)
        >>> a = np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))
        >>> b = np.tile((np.arange(48, dtype=np.uint8) * 5)[:, None], (1, 64))
        >>> [det.update(f) for f in (a, a, a, b, b)], det.cuts
        ([False, False, False, True, False], [3])
    """

    def __init__(
        self,
        *,
        threshold: float = THRESHOLD,
        ratio: float = RATIO,
        history: int = HISTORY,
        min_shot: int = MIN_SHOT,
    ):
        for name, value, low in (("threshold", threshold, 0.0), ("ratio", ratio, 1.0)):
            if not math.isfinite(value) or value < low:
                raise InputError(f"expected a number >= {low}, found {value}", field=name)
        for name, value, low in (("history", history, 1), ("min_shot", min_shot, 1)):
            if value < low:
                raise InputError(f"expected an integer >= {low}, found {value}", field=name)
        self.threshold = threshold
        self.ratio = ratio
        self.min_shot = min_shot
        self.cuts: list[int] = []
        self.scores: list[float] = []
        self._recent: deque[float] = deque(maxlen=history)
        self._prev: np.ndarray | None = None
        self._shape: tuple[int, int] | None = None
        self._shot_start = 0

    @property
    def frames(self) -> int:
        """Frames fed so far."""
        return len(self.scores)

    def update(self, gray: np.ndarray) -> bool:
        """Feed the next frame.

        Args:
            gray: ``(H, W)`` uint8 luma (any resolution; the same for every frame).

        Returns:
            True when this frame starts a new shot (a hard cut before it). The first frame
            returns False.
        """
        if not isinstance(gray, np.ndarray) or gray.ndim != 2 or gray.dtype != np.uint8:
            found = f"{getattr(gray, 'shape', type(gray).__name__)} {getattr(gray, 'dtype', '')}"
            raise InputError(f"expected a (H, W) uint8 frame, found {found}", field="gray")
        if self._shape is None:
            self._shape = gray.shape
        elif gray.shape != self._shape:
            raise InputError(
                f"frame {self.frames} is {gray.shape}, expected {self._shape} like frame 0",
                field="gray",
            )
        thumb = _thumbnail(gray, THUMB_ROWS)
        index = self.frames
        prev, self._prev = self._prev, thumb
        if prev is None:
            self.scores.append(0.0)
            return False
        score = float(np.abs(thumb - prev).mean())
        self.scores.append(score)
        baseline = max(float(np.mean(self._recent)) if self._recent else 0.0, _BASELINE_FLOOR)
        jump = (score > self.threshold and score > self.ratio * baseline) or (
            score > LOW_THRESHOLD and score > HIGH_RATIO * baseline
        )
        cut = jump and index - self._shot_start >= self.min_shot
        if cut:
            self.cuts.append(index)
            self._shot_start = index
            self._recent.clear()
        else:
            self._recent.append(score)
        return cut

    # The run calls it ``push``; the two names are the same method.
    push = update


def detect_cuts(frames: Iterable[np.ndarray], **kwargs: float) -> list[int]:
    """Indices of the frames that start a new shot (hard cuts), frame 0 excluded.

    Args:
        frames: ``(H, W)`` uint8 luma frames in order, all the same size.
        **kwargs: :class:`CutDetector` parameters.

    Returns:
        Sorted frame indices.
    """
    detector = CutDetector(**kwargs)  # type: ignore[arg-type]
    for gray in frames:
        detector.update(gray)
    return list(detector.cuts)


@dataclass(frozen=True)
class Shot:
    """Frames ``start <= index < stop`` between two cuts.

    Attributes:
        start: first frame of the shot.
        stop: one past its last frame.
        index: the shot's 0-based position in its clip (not part of equality).
    """

    start: int
    stop: int
    index: int = field(default=0, compare=False)

    def __len__(self) -> int:
        return self.stop - self.start

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and self.start <= index < self.stop


def shots_from_cuts(cuts: Iterable[int], frame_count: int) -> list[Shot]:
    """Split ``frame_count`` frames into shots at ``cuts``.

    Args:
        cuts: indices of frames that start a new shot (0 and out-of-range values ignored).
        frame_count: number of frames.

    Returns:
        The shots in order; together they cover ``0 .. frame_count - 1`` exactly once.
    """
    bounds = [0, *sorted({c for c in cuts if 0 < c < frame_count}), frame_count]
    pairs = [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    return [Shot(a, b, index=i) for i, (a, b) in enumerate(pairs)]


def format_timecode(seconds: float) -> str:
    """``HH:MM:SS.mmm`` for a time in seconds (as ``FrameTime.seconds`` gives it).

    Args:
        seconds: a time >= 0.

    Returns:
        The timecode, e.g. ``"00:01:02.500"``.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"expected a time >= 0, found {seconds}", field="seconds")
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def frame_timecode(index: int, rate: Fraction | float) -> str:
    """``HH:MM:SS.mmm`` of frame ``index`` of a constant-rate stream.

    Args:
        index: 0-based frame index.
        rate: frames per second (e.g. ``Fraction(30000, 1001)``).

    Returns:
        The timecode of the frame's start.
    """
    if not rate or float(rate) <= 0:
        raise InputError(f"expected a frame rate > 0, found {rate}", field="rate")
    return format_timecode(float(Fraction(index) / Fraction(rate)))
