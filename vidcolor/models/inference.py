"""Batched inference of the hint network: numpy or torch in, ab out, on CPU or CUDA.

:class:`HintColorizer` holds a loaded network and its weights' preprocessing contract.
``predict_ab`` takes lightness, hint chroma and a hint mask and returns chroma of the same
size. On the way it

* computes the edge-aware hint propagation the weights expect as extra input
  (:mod:`vidcolor.models.propagate`), when their contract says so;
* pads each frame to a multiple of 8 (edge-replicated lightness, no hints in the padding)
  and crops the result back;
* runs in batches of ``batch_size`` under ``torch.inference_mode``; a CUDA out-of-memory
  error halves the batch and retries (the smaller size is kept for later calls), so a
  too-large batch costs speed, never the run;
* uses channels-last convolutions (cuDNN and oneDNN are faster with them);
* on CUDA, stages inputs in pinned host memory, copies them with ``non_blocking=True`` and
  autocasts to bf16 (fp16 where bf16 is unsupported).

Every frame is computed independently, so results do not depend on the batch size.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from vidcolor.errors import InputError, WeightsError
from vidcolor.models.openvino_net import OpenVinoNetwork, native_bf16, openvino_available
from vidcolor.models.propagate import PropagationParams, propagate_batch
from vidcolor.models.registry import WeightsEntry
from vidcolor.options import (
    BACKENDS,
    DEVICES,
    PRECISIONS,
    ModelOptions,
    check_choice,
    check_int,
)

_OOM_TYPES: tuple[type[BaseException], ...] = tuple(
    {getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None)}
    - {None}
)


def select_device(
    device: str | torch.device = "auto",
    *,
    cuda_available: Callable[[], bool] = torch.cuda.is_available,
) -> torch.device:
    """Resolve a ``--device`` value.

    Args:
        device: ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"`` or
            ``"cuda:N"``, or a ``torch.device``.
        cuda_available: how to ask whether CUDA works (injectable for tests).

    Returns:
        The torch device.

    Raises:
        InputError: an unknown device, or ``cuda`` asked for where there is none.
    """
    text = str(device)
    if text == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or text.startswith("cuda:"):
        if not cuda_available():
            raise InputError(
                f"found device {text!r}, but CUDA is not available here; expected 'cpu' or "
                "'auto'", field="device",
            )
        return torch.device(text)
    raise InputError(f"found {text!r}, expected one of {DEVICES} or 'cuda:N'", field="device")


def select_dtype(
    precision: str,
    device: torch.device,
    *,
    bf16_supported: Callable[[], bool] | None = None,
) -> torch.dtype:
    """The compute dtype for a precision setting on a device.

    ``"auto"`` is fp32 on the CPU and bf16 (fp16 when the GPU lacks bf16) on CUDA.

    Raises:
        InputError: an unknown precision, or fp16 on the CPU (no fast CPU fp16 kernels).
    """
    check_choice("precision", precision, PRECISIONS)
    if precision == "fp32":
        return torch.float32
    if device.type != "cuda":
        if precision == "fp16":
            raise InputError("found 'fp16' on the CPU, expected 'auto', 'fp32' or 'bf16'",
                             field="precision")
        return torch.bfloat16 if precision == "bf16" else torch.float32
    if precision == "auto":
        supported = bf16_supported or torch.cuda.is_bf16_supported
        return torch.bfloat16 if supported() else torch.float16
    return torch.bfloat16 if precision == "bf16" else torch.float16


def select_backend(backend: str, device: torch.device, *,
                   available: Callable[[], bool] = openvino_available) -> str:
    """Resolve a ``--backend`` value to ``"torch"`` or ``"openvino"``.

    Args:
        backend: ``"auto"`` (OpenVINO on the CPU when installed, else torch), ``"torch"``
            or ``"openvino"``.
        device: the resolved device.
        available: whether OpenVINO is installed (injectable for tests).

    Raises:
        InputError: OpenVINO asked for on CUDA, or where it is not installed.
    """
    check_choice("backend", backend, BACKENDS)
    if backend == "torch":
        return "torch"
    if backend == "auto":
        return "openvino" if device.type == "cpu" and available() else "torch"
    if device.type != "cpu":
        raise InputError(f"found backend 'openvino' with device {str(device)!r}; OpenVINO "
                         "runs on the CPU here: expected --device cpu or --backend torch",
                         field="backend")
    if not available():
        raise InputError("found backend 'openvino', but the openvino package is not "
                         "installed; expected `pip install vidcolor[openvino]` or --backend "
                         "torch", field="backend")
    return "openvino"


def openvino_precision(precision: str, *, native: Callable[[], bool] = native_bf16) -> str:
    """OpenVINO's compute precision: ``auto`` is bf16 where the CPU has it natively."""
    if precision == "auto":
        return "bf16" if native() else "fp32"
    return precision


def cpu_threads() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception is a device out-of-memory error."""
    return isinstance(exc, _OOM_TYPES) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def resize_hints(hint_ab: np.ndarray, hint_mask: np.ndarray, height: int, width: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Resize sparse hints without losing any: area-weighted chroma, any-coverage mask.

    A target pixel covering at least part of a hinted source pixel becomes hinted, with the
    mask-weighted mean chroma of the hinted source pixels it covers, so one-pixel hints
    survive downscaling.

    Args:
        hint_ab: ``(H, W, 2)`` float chroma.
        hint_mask: ``(H, W)`` float in [0, 1].
        height: target height.
        width: target width.

    Returns:
        ``(ab (height, width, 2) float32, mask (height, width) float32 in {0, 1})``.
    """
    if hint_mask.shape == (height, width):
        return hint_ab.astype(np.float32), (hint_mask > 0).astype(np.float32)
    mask = (np.asarray(hint_mask) > 0).astype(np.float32)
    weighted = np.ascontiguousarray(hint_ab * mask[..., None], dtype=np.float32)
    interp = cv2.INTER_AREA if height <= mask.shape[0] else cv2.INTER_NEAREST
    sum_ab = cv2.resize(weighted, (width, height), interpolation=interp)
    cover = cv2.resize(mask, (width, height), interpolation=interp)
    hinted = cover > 1e-6
    ab = np.where(hinted[..., None], sum_ab / np.maximum(cover, 1e-6)[..., None], 0.0)
    return ab.astype(np.float32), hinted.astype(np.float32)


@dataclass(frozen=True)
class _Batch:
    lightness: torch.Tensor  # (B, 1, H, W)
    hint_ab: torch.Tensor  # (B, 2, H, W)
    hint_mask: torch.Tensor  # (B, 1, H, W)
    extra: torch.Tensor | None  # (B, k, H, W)


class HintColorizer:
    """A loaded hint network, ready for repeated batched predictions.

    Args:
        weights: a registry name (``"default"``), a ``.safetensors`` path or an entry.
        device: ``"auto"`` (CUDA when ``torch.cuda.is_available()``), ``"cpu"``, ``"cuda"``.
        precision: ``"auto"`` (fp32 on CPU; bf16, else fp16, autocast on CUDA), ``"fp32"``,
            ``"bf16"`` or ``"fp16"`` (CUDA only).
        batch_size: frames per forward pass; halved automatically on CUDA out-of-memory.
        threads: CPU threads for torch; None uses the cores this process may run on.
        backend: ``"auto"``, ``"torch"`` or ``"openvino"`` (:func:`select_backend`); the
            palette head (:meth:`class_probabilities`) always runs on torch.

    Example:
        >>> colorizer = HintColorizer("default", device="cpu")  # doctest: +SKIP
        >>> ab = colorizer.predict_ab(L[None], hint_ab[None], mask[None])[0]  # doctest: +SKIP
    """

    def __init__(
        self,
        weights: str | os.PathLike | WeightsEntry = "default",
        device: str | torch.device = "auto",
        precision: str = "auto",
        batch_size: int = 4,
        threads: int | None = None,
        backend: str = "auto",
    ):
        from vidcolor.models.weights import load_weights

        model, entry = load_weights(weights)
        self._setup(model, entry, device, precision, batch_size, threads, backend)

    @classmethod
    def from_model(
        cls,
        model: torch.nn.Module,
        entry: WeightsEntry,
        device: str | torch.device = "auto",
        precision: str = "auto",
        batch_size: int = 4,
        threads: int | None = None,
        backend: str = "torch",
    ) -> HintColorizer:
        """Wrap an already built network (tests, training-time validation).

        Args:
            model: a :class:`~vidcolor.models.siggraph17.SIGGRAPHGenerator` (or a module
                with the same ``forward``/``class_logits`` signature).
            entry: the contract the model follows.
            device: as for the constructor.
            precision: as for the constructor.
            batch_size: as for the constructor.
            threads: as for the constructor.
            backend: as for the constructor; ``"torch"`` here, since a test double or a
                network in training is what this wraps.
        """
        self = cls.__new__(cls)
        self._setup(model, entry, device, precision, batch_size, threads, backend)
        return self

    @classmethod
    def from_options(cls, options: ModelOptions) -> HintColorizer:
        """Build from the frozen :class:`~vidcolor.options.ModelOptions`."""
        return cls(options.weights, options.device, options.precision, options.batch_size,
                   backend=options.backend)

    def _setup(self, model, entry, device, precision, batch_size, threads, backend) -> None:
        check_int("batch_size", batch_size)
        self.entry = entry
        self.device = select_device(device)
        self.dtype = select_dtype(precision, self.device)
        self.batch_size = batch_size
        if self.device.type == "cpu":
            wanted = threads if threads is not None else cpu_threads()
            if threads is not None or torch.get_num_threads() > wanted:
                torch.set_num_threads(max(1, int(wanted)))
        # Channels-last convolutions: faster with cuDNN and with oneDNN on the CPU (about a
        # quarter less CPU time per frame for the quarter-width network at 256x256).
        self.model = model.eval().to(self.device).to(memory_format=torch.channels_last)
        self.backend = select_backend(backend, self.device)
        self._openvino: OpenVinoNetwork | None = None
        if self.backend == "openvino":
            self.precision = openvino_precision(precision)
            self._openvino = OpenVinoNetwork(
                model, entry.extra_inputs,
                threads=threads if threads is not None else cpu_threads(),
                precision=self.precision)
        else:
            self.precision = {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(
                self.dtype, "fp16")
        try:
            self._propagation = PropagationParams(**dict(entry.propagation))
        except TypeError as exc:
            raise WeightsError(
                f"weights {entry.name!r} name propagation settings {dict(entry.propagation)} "
                f"this version does not know ({exc})", field="propagation",
            ) from None

    # ------------------------------------------------------------ inputs

    def _extra(self, lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray
               ) -> np.ndarray | None:
        if self.entry.extra is None:
            return None
        if self.entry.extra == "propagation":
            extra = propagate_batch(lightness, hint_ab, hint_mask, self._propagation)
            if extra.shape[-1] != self.entry.extra_inputs:
                raise WeightsError(
                    f"weights {self.entry.name!r} expect {self.entry.extra_inputs} extra input "
                    f"channels, but the hint propagation gives {extra.shape[-1]}; the weights "
                    "were trained with another version of vidcolor.models.propagate",
                    field="extra_inputs",
                )
            return extra
        raise WeightsError(f"unknown extra input {self.entry.extra!r}", field="extra")

    def _check(self, lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray) -> None:
        if lightness.ndim != 3:
            raise InputError(f"lightness has shape {lightness.shape}, expected (B, H, W)",
                             field="lightness")
        b, h, w = lightness.shape
        if hint_ab.shape != (b, h, w, 2):
            raise InputError(f"hint_ab has shape {hint_ab.shape}, expected {(b, h, w, 2)}",
                             field="hint_ab")
        if hint_mask.shape != (b, h, w):
            raise InputError(f"hint_mask has shape {hint_mask.shape}, expected {(b, h, w)}",
                             field="hint_mask")

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        if self.device.type == "cuda":
            return tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor

    def _prepare(self, lightness, hint_ab, hint_mask) -> tuple[_Batch, tuple[int, int]]:
        """Numpy channels-last arrays -> padded channels-first device tensors."""
        extra = self._extra(lightness, hint_ab, hint_mask)
        h, w = lightness.shape[1:]
        m = self.entry.size_multiple
        pad_h, pad_w = (-h) % m, (-w) % m
        light = self._to_device(lightness)[:, None]
        ab = self._to_device(hint_ab).permute(0, 3, 1, 2)
        mask = self._to_device(hint_mask)[:, None]
        ext = None if extra is None else self._to_device(extra).permute(0, 3, 1, 2)
        if pad_h or pad_w:
            pad = (0, pad_w, 0, pad_h)
            light = F.pad(light, pad, mode="replicate")
            ab = F.pad(ab, pad)
            mask = F.pad(mask, pad)
            ext = None if ext is None else F.pad(ext, pad, mode="replicate")
        return _Batch(light, ab, mask, ext), (h, w)

    # ------------------------------------------------------------ running

    def _autocast(self):
        if self.dtype == torch.float32:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _run(self, fn: Callable[[_Batch], torch.Tensor], batch: _Batch) -> torch.Tensor:
        """Apply ``fn`` in chunks of ``self.batch_size``; on out-of-memory halve and retry."""
        n = batch.lightness.shape[0]
        outputs = []
        start = 0
        while start < n:
            size = min(self.batch_size, n - start)
            part = _Batch(*(None if t is None else t[start : start + size] for t in (
                batch.lightness, batch.hint_ab, batch.hint_mask, batch.extra)))
            try:
                with torch.inference_mode(), self._autocast():
                    out = fn(part)
            except Exception as exc:
                if not is_out_of_memory(exc) or size == 1:
                    raise
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self.batch_size = max(1, size // 2)
                continue
            outputs.append(out.float())
            start += size
        return torch.cat(outputs)

    def _forward(self, part: _Batch) -> torch.Tensor:
        if self._openvino is not None:
            return self._openvino(part.lightness, part.hint_ab, part.hint_mask, part.extra)
        part = _Batch(*(None if t is None else t.contiguous(memory_format=torch.channels_last)
                        for t in (part.lightness, part.hint_ab, part.hint_mask, part.extra)))
        return self.model(part.lightness, part.hint_ab, part.hint_mask, part.extra)

    def _to_host(self, tensor: torch.Tensor) -> np.ndarray:
        if self.device.type == "cuda":
            host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
            host.copy_(tensor, non_blocking=True)
            torch.cuda.current_stream(self.device).synchronize()
            return host.numpy()
        return tensor.numpy()

    def predict_ab(self, lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray
                   ) -> np.ndarray:
        """Predict chroma for a batch of frames.

        Args:
            lightness: ``(B, H, W)`` float32 L in [0, 100].
            hint_ab: ``(B, H, W, 2)`` float32 hint chroma in Lab units (about [-128, 127]),
                read where ``hint_mask`` is set.
            hint_mask: ``(B, H, W)`` float32, 1 at hinted pixels, 0 elsewhere.

        Returns:
            ``(B, H, W, 2)`` float32 ab in [-ab_norm, ab_norm] (110 for SIGGRAPH17 weights).

        Raises:
            InputError: when the shapes do not agree.
        """
        lightness = np.asarray(lightness, dtype=np.float32)
        hint_ab = np.asarray(hint_ab, dtype=np.float32)
        hint_mask = np.asarray(hint_mask, dtype=np.float32)
        self._check(lightness, hint_ab, hint_mask)
        if lightness.shape[0] == 0:
            return np.zeros((*lightness.shape, 2), dtype=np.float32)
        batch, (h, w) = self._prepare(lightness, hint_ab, hint_mask)
        out = self._run(self._forward, batch)[:, :, :h, :w]
        return self._to_host(out.permute(0, 2, 3, 1).contiguous())

    def predict_ab_torch(self, lightness: torch.Tensor, hint_ab: torch.Tensor,
                         hint_mask: torch.Tensor) -> torch.Tensor:
        """:meth:`predict_ab` for channels-first tensors on any device.

        Args:
            lightness: ``(B, 1, H, W)`` float L in [0, 100].
            hint_ab: ``(B, 2, H, W)`` float hint chroma in Lab units.
            hint_mask: ``(B, 1, H, W)`` float, 1 at hints.

        Returns:
            ``(B, 2, H, W)`` float32 ab on the device of ``lightness``.
        """
        for name, t, c in (("lightness", lightness, 1), ("hint_ab", hint_ab, 2),
                           ("hint_mask", hint_mask, 1)):
            if t.ndim != 4 or t.shape[1] != c:
                raise InputError(f"{name} has shape {tuple(t.shape)}, expected (B, {c}, H, W)",
                                 field=name)
        ab = self.predict_ab(
            lightness[:, 0].detach().float().cpu().numpy(),
            hint_ab.detach().float().permute(0, 2, 3, 1).cpu().numpy(),
            hint_mask[:, 0].detach().float().cpu().numpy(),
        )
        return torch.from_numpy(ab).permute(0, 3, 1, 2).to(lightness.device)

    def class_probabilities(self, lightness: np.ndarray, hint_ab: np.ndarray,
                            hint_mask: np.ndarray, points: np.ndarray | None = None
                            ) -> np.ndarray:
        """The 529-way ab-bin distribution of every pixel, or of some (the palette head).

        Args:
            lightness: ``(B, H, W)`` float32 L in [0, 100].
            hint_ab: ``(B, H, W, 2)`` float32 hint chroma.
            hint_mask: ``(B, H, W)`` float32 in {0, 1}.
            points: ``(P, 2)`` integer ``(y, x)`` pixels to evaluate, or None for all; a
                few points skip building the full ``(B, 529, H, W)`` map.

        Returns:
            ``(B, 529, H, W)`` float32 probabilities summing to 1 over axis 1, or
            ``(B, 529, P)`` at the points.
        """
        lightness = np.asarray(lightness, dtype=np.float32)
        hint_ab = np.asarray(hint_ab, dtype=np.float32)
        hint_mask = np.asarray(hint_mask, dtype=np.float32)
        self._check(lightness, hint_ab, hint_mask)
        batch, (h, w) = self._prepare(lightness, hint_ab, hint_mask)
        if points is not None:
            where = np.asarray(points).reshape(-1, 2)
            if len(where) and (where.min() < 0 or where[:, 0].max() >= h
                               or where[:, 1].max() >= w):
                raise InputError(f"points must lie inside {h}x{w}; found {where.tolist()[:4]}",
                                 field="points")
            at = torch.from_numpy(where.astype(np.int64)).to(self.device)

            def at_points(part: _Batch) -> torch.Tensor:
                out = self.model.class_logits_at(part.lightness, part.hint_ab, part.hint_mask,
                                                 part.extra, at)
                return torch.softmax(out.float(), dim=1)

            return self._to_host(self._run(at_points, batch).contiguous())

        def logits(part: _Batch) -> torch.Tensor:
            out = self.model.class_logits(part.lightness, part.hint_ab, part.hint_mask,
                                          part.extra)
            return torch.softmax(out.float(), dim=1)

        return self._to_host(self._run(logits, batch)[:, :, :h, :w].contiguous())


def measure_fps(colorizer: HintColorizer, size: int = 256, frames: int = 32,
                hints: int = 10, seed: int = 0) -> float:
    """Frames per second of :meth:`HintColorizer.predict_ab` on random frames.

    Includes the propagation and host/device copies, i.e. what a run pays per frame.
    One warm-up batch is run first and not timed.

    Args:
        colorizer: the loaded model.
        size: frame side in pixels (square frames).
        frames: frames timed, in batches of ``colorizer.batch_size``.
        hints: point hints per frame.
        seed: random seed of the frames and hints.

    Returns:
        Frames per second.
    """
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(0, 100, (frames, size, size)).astype(np.float32)
    lightness = np.stack([cv2.GaussianBlur(x, (0, 0), 4) for x in lightness])
    hint_ab = np.zeros((frames, size, size, 2), np.float32)
    mask = np.zeros((frames, size, size), np.float32)
    for i in range(frames):
        ys, xs = rng.integers(0, size, (2, hints))
        hint_ab[i, ys, xs] = rng.uniform(-60, 60, (hints, 2))
        mask[i, ys, xs] = 1
    bs = colorizer.batch_size
    colorizer.predict_ab(lightness[:bs], hint_ab[:bs], mask[:bs])
    if colorizer.device.type == "cuda":
        torch.cuda.synchronize(colorizer.device)
    start = time.perf_counter()
    for i in range(0, frames, bs):
        colorizer.predict_ab(lightness[i : i + bs], hint_ab[i : i + bs], mask[i : i + bs])
    return frames / (time.perf_counter() - start)
