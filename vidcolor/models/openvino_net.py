"""The hint network's forward pass on OpenVINO, an inference runtime made for CPUs.

The same network object torch runs is converted in memory (``openvino.convert_model``
traces it; no file from elsewhere is read), with dynamic batch, height and width, and
compiled for the CPU. Torch stays the reference: on the shipped weights the fp32 path
matches torch to about 1e-5 ab units and the bf16 path (CPUs with native bf16, such as
AMD Zen 4 and Intel Sapphire Rapids) to about 0.15 (``tests/test_openvino.py`` checks 0.5).

Converting takes about 2 s, so the converted model is cached as OpenVINO IR
(``.xml`` + ``.bin``) under ``$XDG_CACHE_HOME/vidcolor/openvino`` (default
``~/.cache``), keyed by a sha256 of the network's tensors, its class and the OpenVINO
version; a later run reads it back in a fraction of that. A cache that cannot be written
only costs the conversion time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vidcolor.atomic import commit_temp
from vidcolor.errors import OutputError

OV_PRECISIONS = {"fp32": "f32", "bf16": "bf16"}


def openvino_available() -> bool:
    """Whether the ``openvino`` package is installed (the ``openvino`` extra)."""
    return importlib.util.find_spec("openvino") is not None


def native_bf16() -> bool:
    """Whether OpenVINO computes bf16 natively on this CPU (else bf16 would be emulated)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def network_digest(model: nn.Module) -> str:
    """sha256 of a network's class, tensor names, shapes, dtypes and values (hex)."""
    digest = hashlib.sha256(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where converted networks are kept: ``$XDG_CACHE_HOME/vidcolor/openvino``."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "vidcolor" / "openvino"


class OpenVinoNetwork:
    """A compiled OpenVINO copy of a hint network's ``forward(L, ab, mask, extra)``.

    Args:
        model: the torch network (``SIGGRAPHGenerator``), in eval mode, on the CPU.
        extra_inputs: number of extra input channels it takes (0 for none).
        threads: CPU threads for inference.
        precision: ``"fp32"`` or ``"bf16"``.
        cache: folder for the converted IR, or None for :func:`cache_dir`.
    """

    def __init__(self, model: nn.Module, extra_inputs: int, threads: int,
                 precision: str = "fp32", cache: Path | None = None):
        import openvino as ov

        self.extra_inputs = extra_inputs
        self.precision = precision
        core = ov.Core()
        ir = self._converted(ov, core, model, cache or cache_dir())
        self._compiled = core.compile_model(ir, "CPU", {
            "INFERENCE_NUM_THREADS": int(threads),
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": OV_PRECISIONS[precision],
        })
        self._request = self._compiled.create_infer_request()

    def _converted(self, ov, core, model: nn.Module, folder: Path):
        key = hashlib.sha256(
            f"{network_digest(model)}:{self.extra_inputs}:{ov.get_version()}".encode()
        ).hexdigest()[:24]
        xml = folder / f"{key}.xml"
        if xml.is_file() and xml.with_suffix(".bin").is_file():
            try:
                return core.read_model(str(xml))
            except RuntimeError:  # a damaged cache entry: convert again
                pass
        channels = (1, 2, 1) + ((self.extra_inputs,) if self.extra_inputs else ())
        example = tuple(torch.zeros(1, c, 64, 64) for c in channels)
        with torch.no_grad(), warnings.catch_warnings():
            # Tracing warns about the shape checks it freezes; the shapes stay dynamic.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            converted = ov.convert_model(
                model, example_input=example,
                input=[ov.PartialShape([-1, c, -1, -1]) for c in channels])
        # Always run the IR as read back from disk: a freshly converted graph and the same
        # graph read from its IR differ in the last float bits, and a run must not depend
        # on whether the cache was warm.
        if self._save(ov, converted, folder, xml):
            return core.read_model(str(xml))
        with tempfile.TemporaryDirectory() as tmp:
            ov.save_model(converted, str(Path(tmp) / xml.name), compress_to_fp16=False)
            return core.read_model(str(Path(tmp) / xml.name))

    @staticmethod
    def _save(ov, converted, folder: Path, xml: Path) -> bool:
        """Write the IR pair into a temp folder, then rename both into place; False on failure."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=folder, prefix=".vidcolor-tmp-") as tmp:
                tmp_xml = Path(tmp) / xml.name
                ov.save_model(converted, str(tmp_xml), compress_to_fp16=False)
                commit_temp(tmp_xml.with_suffix(".bin"), xml.with_suffix(".bin"), overwrite=True)
                commit_temp(tmp_xml, xml, overwrite=True)  # the .xml last: a complete entry
        except (OSError, OutputError):
            return False
        return True

    def __call__(self, lightness: torch.Tensor, hint_ab: torch.Tensor, hint_mask: torch.Tensor,
                 extra: torch.Tensor | None) -> torch.Tensor:
        """The network's output for a batch.

        Args:
            lightness: ``(B, 1, H, W)`` float32 L in [0, 100]; H and W multiples of 8.
            hint_ab: ``(B, 2, H, W)`` float32 hint chroma in Lab units.
            hint_mask: ``(B, 1, H, W)`` float32 in {0, 1}.
            extra: ``(B, k, H, W)`` float32 extra channels, or None when k is 0.

        Returns:
            ``(B, 2, H, W)`` float32 ab in Lab units, on the CPU.
        """
        inputs = [lightness, hint_ab, hint_mask] + ([extra] if self.extra_inputs else [])
        arrays = [np.ascontiguousarray(t.detach().float().cpu().numpy()) for t in inputs]
        out = self._request.infer(arrays)[self._compiled.output(0)]
        return torch.from_numpy(np.array(out, dtype=np.float32, copy=True))
