"""Which hints guide each shot: its own hint frames, reference images, or a similar shot's.

The plan is made before any shot is colorized and depends only on the hints and on the
luma of a few frames per shot, so a resumed run (or a shot rendered elsewhere) plans the
same way.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from vidcolor.errors import InputError
from vidcolor.frames import quarter_turns
from vidcolor.hints import match
from vidcolor.hints.format import FrameHints, HintSet
from vidcolor.hints.orientation import to_stored_orientation
from vidcolor.temporal.shots import Shot

log = logging.getLogger("vidcolor")

#: ``{0-based frame index: FrameHints}``: the hint frames of a clip.
HintFrames = dict[int, FrameHints]
#: ``luma(i)`` -> ``(h, w)`` uint8 working-resolution luma of frame ``i``.
LumaSource = Callable[[int], np.ndarray]


@dataclass
class ShotHints:
    """Every hint source that guides one shot.

    Attributes:
        frames: ``{frame index: FrameHints}`` of the hint frames inside the shot.
        borrowed: ``{frame index: FrameHints}`` of hints moved in from another shot or
            from a reference image (tracked through the shot like hint frames).
        palette: global colors to pull the prediction towards, for a shot that only matched
            another shot's look, or None.
        record: the borrowing decision, or None.
    """

    frames: HintFrames = field(default_factory=dict)
    borrowed: HintFrames = field(default_factory=dict)
    palette: match.Palette | None = None
    record: match.BorrowRecord | None = None

    @property
    def borrowed_from(self) -> int | None:
        """The other shot this one took its colors from, or None."""
        r = self.record
        if r is None or r.source_shot is None or r.method == "none":
            return None
        return r.source_shot


def hint_frames_of(hints: HintSet | HintFrames | None) -> HintFrames:
    """``{frame index: FrameHints}`` of a loaded hint set (or an empty dict).

    Args:
        hints: a ``HintSet``, a ``{index: FrameHints}`` dict, or None.

    Returns:
        A dict keyed by 0-based frame index.
    """
    if hints is None:
        return {}
    if isinstance(hints, dict):
        return {int(k): v for k, v in hints.items()}
    if isinstance(hints, HintSet):
        return {int(k): v for k, v in hints.frames.items()}
    raise InputError(f"hints: found {type(hints).__name__}, expected a HintSet or a dict")


def hints_in_stored_orientation(hint_frames: HintFrames, rotation: float) -> HintFrames:
    """Hints written on the displayed picture, mapped onto the stored one.

    Args:
        hint_frames: ``{frame index: FrameHints}`` in displayed orientation.
        rotation: the video's display rotation (``probe(...).rotation``), degrees
            counter-clockwise.
    """
    turns = quarter_turns(rotation)
    return {i: to_stored_orientation(fh, turns) for i, fh in hint_frames.items()}


def plan_shot_hints(shots: Sequence[Shot], hint_frames: HintFrames,
                    luma: LumaSource) -> dict[int, ShotHints]:
    """Give every shot its hints: its own hint frames, or hints borrowed from a similar shot.

    Uses ``hints.match``: each shot is described by one frame (its first hint frame, else
    its middle frame); a shot without hints borrows points (SIFT + RANSAC) or a palette
    from the most similar hinted shot. A hint frame's ``reference`` image adds points where
    its features match the frame, else its palette when the shot has no point hints.
    Deterministic, so a resumed run plans the same way.

    Args:
        shots: the clip's shots.
        hint_frames: ``{frame index: FrameHints}``.
        luma: working-resolution luma by frame index.

    Returns:
        ``{shot index: ShotHints}``.
    """
    plan: dict[int, ShotHints] = {}
    hinted: list[match.HintedShot] = []
    for s in shots:
        plan[s.index] = own_shot_hints(s, hint_frames, luma, hinted)
    for s in shots:
        borrow_shot_hints(s, plan[s.index], luma, hinted)
    return plan


def borrowed_shots(plan: dict[int, ShotHints]) -> dict[int, int]:
    """``{shot: source shot}`` of every shot that took its colors from another shot."""
    return {shot: sh.borrowed_from for shot, sh in plan.items()
            if sh.borrowed_from is not None and sh.borrowed_from != shot}


def own_shot_hints(shot: Shot, hint_frames: HintFrames, luma: LumaSource,
                   hinted: list[match.HintedShot] | None,
                   guidance: MutableMapping[tuple, object] | None = None) -> ShotHints:
    """A shot's own hint frames, with its reference images' guidance.

    Args:
        shot: the shot.
        hint_frames: ``{frame index: FrameHints}`` of the clip (others are ignored).
        luma: working-resolution luma by frame index (frames of this shot are read).
        hinted: the hinted shots so far; a hinted shot is appended (with its descriptor,
            for shots that borrow). None when nothing will borrow from it (a preview of
            this shot alone): the descriptor is not computed.
        guidance: a reference image's guidance by (shot, frame, image content), kept by a
            caller that plans the same shot again and again (a live preview: every hint
            change plans anew; the SIFT matching of an unchanged reference is not redone).
    """
    own = {i: fh for i, fh in sorted(hint_frames.items()) if shot.start <= i < shot.stop}
    planned = ShotHints(frames=own)
    for i, fh in own.items():
        if fh.reference_rgb is None:
            continue
        key = (shot.index, i, fh.reference_rgb.shape,
               hashlib.sha1(np.ascontiguousarray(fh.reference_rgb).data).hexdigest())
        guided = guidance.get(key) if guidance is not None else None
        if guided is None:
            target = match.describe_frame(luma(i), frame=i)
            guided = match.reference_guidance(shot.index, target, fh.reference_rgb,
                                              source_shot=shot.index)
            if guidance is not None:
                guidance[key] = guided
        if guided.hints is not None:
            planned.borrowed[i] = guided.hints
        elif not any(f.points or f.scribble is not None for f in own.values()):
            planned.palette = guided.palette
        planned.record = guided.record
    if own and hinted is not None:
        first = next(iter(own))
        hinted.append(match.HintedShot(shot.index, match.describe_frame(luma(first),
                                                                        frame=first),
                                       own[first]))
    return planned


def borrow_shot_hints(shot: Shot, planned: ShotHints, luma: LumaSource,
                      hinted: Sequence[match.HintedShot]) -> None:
    """Let a shot without hint frames borrow from the most similar hinted shot (in place).

    Args:
        shot: the shot.
        planned: its :func:`own_shot_hints`; left alone when it has hint frames.
        luma: working-resolution luma by frame index (frames of this shot are read).
        hinted: the hinted shots to borrow from.
    """
    if planned.frames or not hinted:
        return
    middle = shot.start + (len(shot) - 1) // 2
    borrowed = match.borrow_hints(shot.index, match.describe_frame(luma(middle), frame=middle),
                                  list(hinted))
    planned.record = borrowed.record
    if borrowed.hints is not None:
        planned.borrowed[middle] = borrowed.hints
    planned.palette = borrowed.palette
    log.info("%s", borrowed.record.describe())
