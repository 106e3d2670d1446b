"""Flicker removal: flow-guided recursive blending of chroma, forwards then backwards.

Pure tensor functions with an explicit state value; they run on whatever device ``ab`` is on
(the model's device) and do no I/O.

**Forward pass** (causal, per frame ``t`` of a shot)::

    W_t  = warp_ab(F_{t-1}, bwd_t)                 # previous output brought onto frame t
    r_t  = consistent(bwd_t, fwd_t) * inside(bwd_t) * exp(-(dL_t / sigma)^2 / 2)
    F_t  = ab_t + strength * r_t * (W_t - ab_t)

where ``dL_t`` is the luma residual ``|gray_t - warp(gray_{t-1}, bwd_t)|`` (0..255) and
``consistent`` is the Sundaram forward-backward test of :mod:`vidcolor.temporal.flow`. The
weight falls to zero where the warp is unreliable: occlusions, disocclusions, flow leaving the
frame, and content whose brightness changed.

**Backward pass** over a window of ``window`` frames (a fixed lag): the output of frame ``t`` is
``B_t`` of a backward recursion started afresh at ``F_{t + window}`` (or at the shot's last
frame)::

    B_s = F_s + strength * r'_s * (warp_ab(B_{s+1}, fwd_{s+1}) - F_s),   s = t + window - 1 ... t

with ``r'_s`` the same reliability computed for the forward flow. So every output sees the
past through the forward recursion and up to ``window`` frames of the future. Output is
delayed by ``window`` frames: :func:`smooth` returns the frames that became final, and
:func:`flush` returns the rest at the end of a shot.

**Shots.** A fresh :class:`TemporalState` starts a shot. ``new_shot`` flags (or a fresh state)
end the previous shot: its pending frames are finished without looking past the cut, and the
recursion restarts, so frames on either side of a cut never blend.

**Batch size.** Each output frame is computed with the same operations whatever the chunking,
so feeding a shot in chunks of 1, 3 or all frames gives the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from vidcolor.errors import InputError
from vidcolor.options import TemporalOptions, check_temporal
from vidcolor.temporal.flow import forward_backward_test
from vidcolor.temporal.warp import inside, warp

#: Luma residual (0..255) at which the blend weight has fallen to exp(-1/2) of its maximum.
LUMA_SIGMA = 12.0


@dataclass(frozen=True)
class _Pending:
    """One frame that went through the forward pass and waits for its backward window."""

    forward: torch.Tensor  # (2, H, W) forward-pass chroma F_t
    luma: torch.Tensor  # (H, W) float32 gray 0..255
    next_flow: torch.Tensor | None  # (2, H, W) fwd flow t -> t+1 (grid of t), once t+1 arrived
    next_weight: torch.Tensor | None  # (H, W) strength * reliability of warping t+1 onto t


@dataclass(frozen=True)
class TemporalState:
    """Everything the smoother carries from one call to the next, as an immutable value.

    A default-constructed state (``TemporalState()``) starts a new shot.

    Attributes:
        pending: frames of the current shot already through the forward pass and not yet
            returned (at most ``window``), oldest first.
        last: the last frame received in the current shot (its forward result and luma),
            which the next frame is blended with; None at a shot start.
        received: frames received since the start of the stream.
        emitted: frames returned since the start of the stream; the next returned frame has
            this index.
    """

    pending: tuple[_Pending, ...] = field(default=(), repr=False)
    last: _Pending | None = field(default=None, repr=False)
    received: int = 0
    emitted: int = 0

    @property
    def in_shot(self) -> bool:
        """True when a shot is under way (a new frame would be blended with the previous)."""
        return self.last is not None


def _consistency(flow: torch.Tensor, flow_back_warped: torch.Tensor) -> torch.Tensor:
    err, thr = forward_backward_test(flow, flow_back_warped, axis=1)
    return err <= thr


def _luma_weight(residual: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * (residual / LUMA_SIGMA) ** 2)


def pair_weights(
    luma_prev: torch.Tensor, luma_next: torch.Tensor, fwd: torch.Tensor, bwd: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reliability of warping across one consecutive pair, in both directions.

    Args:
        luma_prev: ``(B, H, W)`` float gray 0..255 of frame ``t - 1``.
        luma_next: ``(B, H, W)`` float gray of frame ``t``.
        fwd: ``(B, 2, H, W)`` flow ``t - 1 -> t`` on the grid of ``t - 1``.
        bwd: ``(B, 2, H, W)`` flow ``t -> t - 1`` on the grid of ``t``.

    Returns:
        ``(to_next, to_prev)``, each ``(B, H, W)`` float in [0, 1]: ``to_next`` on the grid of
        ``t`` says how far frame ``t - 1`` warped by ``bwd`` can be trusted there; ``to_prev``
        on the grid of ``t - 1`` is the same for frame ``t`` warped by ``fwd``.
    """
    a = warp(torch.cat([luma_prev[:, None], fwd], dim=1), bwd)  # onto t
    b = warp(torch.cat([luma_next[:, None], bwd], dim=1), fwd)  # onto t - 1
    to_next = _consistency(bwd, a[:, 1:]) & inside(bwd)
    to_prev = _consistency(fwd, b[:, 1:]) & inside(fwd)
    w_next = to_next.to(luma_prev.dtype) * _luma_weight((a[:, 0] - luma_next).abs())
    w_prev = to_prev.to(luma_prev.dtype) * _luma_weight((b[:, 0] - luma_prev).abs())
    return w_next, w_prev


def _as_tensor(x: torch.Tensor | np.ndarray, device: torch.device, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise InputError(f"expected a tensor or array, found {type(x).__name__}", field=name)
    return x.to(device=device, dtype=torch.float32)


def _check_options(options: TemporalOptions) -> None:
    check_temporal(options.strength, options.window)


def _finish(
    pending: Sequence[_Pending], count: int, window: int, strength: float
) -> list[torch.Tensor]:
    """Backward pass for the first ``count`` pending frames (batched over outputs)."""
    if count == 0:
        return []
    if window == 0 or strength == 0.0:
        return [p.forward for p in pending[:count]]
    last = len(pending) - 1  # last frame whose forward result is known
    # B_{t + k}, k = min(window, last - t): each output starts its backward recursion there.
    outs = [pending[min(t + window, last)].forward for t in range(count)]
    for j in range(window - 1, -1, -1):
        active = [t for t in range(count) if t + j < last]
        if not active:
            continue
        # Only frames with a successor have next_flow / next_weight.
        flows = torch.stack([pending[t + j].next_flow for t in active])  # type: ignore[misc]
        weights = torch.stack([pending[t + j].next_weight for t in active])  # type: ignore[misc]
        base = torch.stack([pending[t + j].forward for t in active])
        warped = warp(torch.stack([outs[t] for t in active]), flows)
        blended = base + weights[:, None] * (warped - base)
        for t, value in zip(active, blended.unbind(0), strict=True):
            outs[t] = value
    return outs


def _end_shot(
    state: TemporalState, options: TemporalOptions
) -> tuple[list[torch.Tensor], TemporalState]:
    outs = _finish(state.pending, len(state.pending), options.window, options.strength)
    return outs, TemporalState(received=state.received, emitted=state.emitted + len(outs))


def smooth(
    ab: torch.Tensor,
    luma: torch.Tensor | np.ndarray,
    flows: tuple[torch.Tensor | np.ndarray, torch.Tensor | np.ndarray],
    state: TemporalState,
    options: TemporalOptions,
    *,
    new_shot: Sequence[bool] | None = None,
) -> tuple[torch.Tensor, TemporalState]:
    """Smooth a chunk of consecutive frames' chroma; see the module docstring.

    Args:
        ab: ``(N, 2, H, W)`` float chroma from the model, on the model's device.
        luma: ``(N, H, W)`` gray 0..255 (uint8 or float, tensor or array) of the same frames
            at the same resolution.
        flows: ``(fwd, bwd)``, each ``(N, 2, H, W)`` float (tensor or array; channels first,
            as :func:`flows_channels_first` makes from ``compute_flow``'s ``(H, W, 2)``).
            Row ``i`` links frame ``i - 1`` (the last frame of the previous chunk for ``i = 0``)
            to frame ``i``: ``fwd[i] = compute_flow(gray[i-1], gray[i])``,
            ``bwd[i] = compute_flow(gray[i], gray[i-1])``. The row of a frame that starts a
            shot is not read (zeros will do).
        state: the value returned by the previous call, or ``TemporalState()`` at a shot start.
        options: ``enabled``, ``strength`` in [0, 1] and ``window`` (backward lag, >= 0).
        new_shot: optional ``N`` flags, True where a frame starts a new shot (a cut before it).

    Returns:
        ``(out, state)``: ``out`` is ``(K, 2, H, W)`` float32 on ``ab``'s device, the next ``K``
        finished frames in order (indices ``state.emitted - K .. state.emitted - 1``);
        ``K`` lags the input by up to ``window`` frames within a shot. With
        ``options.enabled`` False the input is returned unchanged (after pending frames).
    """
    _check_options(options)
    if not isinstance(ab, torch.Tensor) or ab.ndim != 4 or ab.shape[1] != 2:
        raise InputError(
            f"expected (N, 2, H, W) chroma, found {getattr(ab, 'shape', type(ab).__name__)}",
            field="ab",
        )
    n, _, h, w = ab.shape
    device = ab.device
    ab = ab.to(torch.float32)
    luma_t = _as_tensor(luma, device, "luma")
    if tuple(luma_t.shape) != (n, h, w):
        raise InputError(
            f"expected luma of shape {(n, h, w)}, found {tuple(luma_t.shape)}", field="luma"
        )
    fwd, bwd = (_as_tensor(f, device, name) for f, name in zip(flows, ("fwd", "bwd"), strict=True))
    for f, name in ((fwd, "fwd"), (bwd, "bwd")):
        if tuple(f.shape) != (n, 2, h, w):
            raise InputError(
                f"expected flow of shape {(n, 2, h, w)}, found {tuple(f.shape)}", field=name
            )
    if new_shot is not None and len(new_shot) != n:
        raise InputError(f"expected {n} new_shot flags, found {len(new_shot)}", field="new_shot")

    outs: list[torch.Tensor] = []
    if not options.enabled:
        done, state = _end_shot(state, options)
        outs += done
        outs += list(ab.unbind(0))
        state = replace(state, received=state.received + n, emitted=state.emitted + n)
        return _stack(outs, ab), state

    strength = float(options.strength)
    for i in range(n):
        starts = bool(new_shot[i]) if new_shot is not None else False
        if starts and state.in_shot:
            done, state = _end_shot(state, options)
            outs += done
        pending = list(state.pending)
        lum = luma_t[i]
        prev = state.last
        if prev is None:
            forward = ab[i]
        else:
            w_next, w_prev = pair_weights(
                prev.luma[None], lum[None], fwd[i : i + 1], bwd[i : i + 1]
            )
            warped = warp(prev.forward[None], bwd[i : i + 1])[0]
            forward = ab[i] + strength * w_next[0] * (warped - ab[i])
            if pending:  # the previous frame still waits for its backward window
                pending[-1] = replace(prev, next_flow=fwd[i], next_weight=strength * w_prev[0])
        current = _Pending(forward=forward, luma=lum, next_flow=None, next_weight=None)
        pending.append(current)
        # Frames whose whole backward window has arrived are final.
        ready = len(pending) - options.window
        if ready > 0:
            outs += _finish(pending, ready, options.window, strength)
            pending = pending[ready:]
        state = TemporalState(
            pending=tuple(pending),
            last=current,
            received=state.received + 1,
            emitted=state.emitted + max(ready, 0),
        )
    return _stack(outs, ab), state


def flush(
    state: TemporalState, options: TemporalOptions
) -> tuple[torch.Tensor | None, TemporalState]:
    """Finish the current shot: return its pending frames and a state for the next shot.

    Args:
        state: the state after the shot's last :func:`smooth` call.
        options: the same options as the :func:`smooth` calls.

    Returns:
        ``(out, state)``: ``out`` is ``(K, 2, H, W)`` float32 (None when nothing was pending),
        ``state`` is fresh (counters kept).
    """
    _check_options(options)
    outs, state = _end_shot(state, options)
    return (torch.stack(outs) if outs else None), state


def smooth_shot(
    ab: torch.Tensor,
    luma: torch.Tensor | np.ndarray,
    flows: tuple[torch.Tensor | np.ndarray, torch.Tensor | np.ndarray],
    options: TemporalOptions,
) -> torch.Tensor:
    """Smooth one whole shot at once (:func:`smooth` then :func:`flush`).

    Args:
        ab: ``(N, 2, H, W)`` float chroma of every frame of the shot.
        luma: ``(N, H, W)`` gray 0..255 of the same frames.
        flows: ``(fwd, bwd)`` ``(N, 2, H, W)``, row ``i`` linking frame ``i - 1`` to ``i``
            (row 0 unused).
        options: temporal options.

    Returns:
        ``(N, 2, H, W)`` float32 smoothed chroma on ``ab``'s device.
    """
    out, state = smooth(ab, luma, flows, TemporalState(), options)
    rest, _ = flush(state, options)
    return out if rest is None else torch.cat([out, rest])


def _stack(outs: list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    if outs:
        return torch.stack(outs)
    return like.new_zeros((0, *like.shape[1:]), dtype=torch.float32)


def flows_channels_first(fwd: np.ndarray, bwd: np.ndarray, device: torch.device | str
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, H, W, 2)`` flow arrays (as ``compute_flow`` stacks them) as ``(N, 2, H, W)``.

    Args:
        fwd: ``(N, H, W, 2)`` float32 forward flows.
        bwd: ``(N, H, W, 2)`` float32 backward flows.
        device: where the tensors go (the model's device).

    Returns:
        ``(fwd, bwd)``, each ``(N, 2, H, W)`` float32 on ``device``.
    """
    return tuple(torch.from_numpy(np.ascontiguousarray(f)).permute(0, 3, 1, 2).to(device)
                 for f in (fwd, bwd))  # type: ignore[return-value]
