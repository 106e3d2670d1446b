"""What a run needs from a loaded network, and how it is loaded from the options."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from vidcolor.models.inference import HintColorizer
from vidcolor.options import ModelOptions


class HintNetwork(Protocol):
    """Anything with the hint network's prediction call (``HintColorizer``, a test double)."""

    def predict_ab(self, lightness: np.ndarray, hint_ab: np.ndarray,
                   hint_mask: np.ndarray) -> np.ndarray | torch.Tensor:
        """``(B, h, w)`` L, ``(B, h, w, 2)`` hint ab, ``(B, h, w)`` mask -> ``(B, h, w, 2)``."""


class ChromaModel:
    """A loaded network as a run uses it: batched prediction and the device it runs on.

    Args:
        model: the network (``models.inference.HintColorizer`` or any :class:`HintNetwork`).
    """

    def __init__(self, model: HintNetwork):
        self.model = model

    @property
    def device(self) -> str:
        """``"cuda"`` or ``"cpu"``: where the model runs."""
        return str(getattr(self.model, "device", "cpu"))

    @property
    def backend(self) -> str:
        """Guided-filter backend for compose: kornia on the model's GPU, else OpenCV."""
        return self.device if self.device.startswith("cuda") else "opencv"

    def predict(self, lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray,
                batch_size: int) -> np.ndarray:
        """Chroma for a stack of frames, run in batches of ``batch_size``.

        Args:
            lightness: ``(N, h, w)`` float32 L in [0, 100].
            hint_ab: ``(N, h, w, 2)`` float32 hint chroma.
            hint_mask: ``(N, h, w)`` float32, 1 where a hint is.
            batch_size: frames per call of the network.

        Returns:
            ``(N, h, w, 2)`` float32 ab.
        """
        out = []
        for start in range(0, len(lightness), batch_size):
            stop = start + batch_size
            ab = self.model.predict_ab(lightness[start:stop], hint_ab[start:stop],
                                       hint_mask[start:stop])
            out.append(_as_numpy(ab))
        return np.concatenate(out, axis=0)


def _as_numpy(array: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array.astype(np.float32, copy=False)
    return array.detach().float().cpu().numpy()


def load_model(options: ModelOptions) -> ChromaModel:
    """Load the hint network named by ``options`` (weights, device, precision, batch size).

    Args:
        options: model options.

    Returns:
        A :class:`ChromaModel`.
    """
    return ChromaModel(HintColorizer.from_options(options))

