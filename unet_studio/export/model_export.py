"""TorchScript and ONNX exports of a checkpoint, each checked against the eager model and carded."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
import torch.nn.functional as F
from torch import nn

from unet_studio.core.atomic import atomic_write_bytes, atomic_write_json
from unet_studio.core.checksums import file_sha256
from unet_studio.export.card import card_path, min_input_size, model_card
from unet_studio.export.errors import ExportError
from unet_studio.models.checkpoint import Checkpoint, load_checkpoint
from unet_studio.models.config import VOLUME_ARCHS

ONNX_OPSET = 17
TOLERANCE = 1e-4


class PaddedForExport(nn.Module):
    """Pads the input (reflect, bottom/right) to a multiple of 2**depth and crops the output back.

    The networks do the same in Python on integer sizes, which a trace would freeze at the example size;
    written as traced tensor-size arithmetic the exported graph keeps any height and width.
    """

    def __init__(self, net: nn.Module, multiple: int):
        super().__init__()
        self.net = net
        self.multiple = multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        pad_h = (self.multiple - height % self.multiple) % self.multiple
        pad_w = (self.multiple - width % self.multiple) % self.multiple
        logits = self.net(F.pad(x, (0, pad_w, 0, pad_h), mode="reflect"))
        return logits[..., :height, :width]


def require_same_padding(checkpoint: Checkpoint) -> None:
    """Only 'same'-padded 2-D networks export: their input size is free."""
    if checkpoint.model_config.arch in VOLUME_ARCHS:
        raise ExportError(checkpoint.path, "3-D models are not exported to ONNX, TorchScript or bioimage.io yet; "
                                           "predict with the checkpoint itself (`unet-studio predict`)")
    if checkpoint.model_config.padding != "same":
        raise ExportError(checkpoint.path, "only 'same'-padded models can be exported (their input size "
                                           "is free); this one uses 'valid' padding")


def _exportable(checkpoint: Checkpoint) -> tuple[nn.Module, torch.Tensor]:
    """(wrapped model to export, example input) for a 'same'-padded checkpoint."""
    require_same_padding(checkpoint)
    config = checkpoint.model_config
    size = 2 * min_input_size(checkpoint)
    example = torch.zeros(1, config.in_channels, size, size)
    return PaddedForExport(checkpoint.build_model(), 2**config.depth).eval(), example


def check_input(checkpoint: Checkpoint) -> torch.Tensor:
    """A seeded random input whose odd size is not a multiple of the network's, so padding is exercised."""
    size = 2 * min_input_size(checkpoint)
    generator = torch.Generator().manual_seed(0)
    return torch.randn(1, checkpoint.model_config.in_channels, size + 3, size + 5, generator=generator)


def _compare(source: str, out_path: Path, eager: np.ndarray, exported: np.ndarray) -> float:
    if eager.shape != exported.shape:
        raise ExportError(out_path, f"exported output shape {exported.shape} differs from the model's {eager.shape}")
    difference = float(np.abs(eager - exported).max())
    if not difference <= TOLERANCE:
        raise ExportError(out_path, f"exported model differs from {source} by {difference:.3g} "
                                    f"(tolerance {TOLERANCE:g})")
    return difference


def traced_torchscript(module: nn.Module, example: torch.Tensor, check: torch.Tensor, source: str,
                       out_path: Path) -> tuple[bytes, float]:
    """(TorchScript bytes, largest difference from the eager module on `check`) of an eval-mode module."""
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # jit.trace is deprecated upstream and warns about its own shape branches; the check below decides.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, example, check_trace=False)
        torch.jit.save(traced, buffer)
        reloaded = torch.jit.load(io.BytesIO(buffer.getvalue()), map_location="cpu")
        with torch.jit.optimized_execution(False):  # one call: skip the profiling executor's warm-up
            exported = reloaded(check).numpy()
        difference = _compare(source, out_path, module(check).numpy(), exported)
    return buffer.getvalue(), difference


def exported_onnx(module: nn.Module, example: torch.Tensor, check: torch.Tensor, source: str, out_path: Path,
                  output_name: str = "logits") -> tuple[bytes, float]:
    """(ONNX bytes (opset 17, dynamic batch/height/width, input "image"), largest difference from the eager
    module on `check`, run in onnxruntime).

    Uses the TorchScript-based exporter: the dynamo exporter took ~15 s for a tiny model here and froze the
    networks' size-dependent padding at the example size.
    """
    buffer = io.BytesIO()
    axes = {0: "batch", 2: "height", 3: "width"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(module, (example,), buffer, input_names=["image"], output_names=[output_name],
                          dynamic_axes={"image": axes, output_name: axes}, opset_version=ONNX_OPSET, dynamo=False)
        eager = module(check).numpy()
    data = buffer.getvalue()
    try:
        onnx.checker.check_model(onnx.load_from_string(data))
        session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        exported = session.run([output_name], {"image": check.numpy()})[0]
    except (onnx.checker.ValidationError, ort_errors.Fail, ort_errors.InvalidGraph,
            ort_errors.InvalidArgument, ort_errors.RuntimeException) as error:
        raise ExportError(out_path, f"ONNX model failed its check ({str(error).splitlines()[0]})") from error
    return data, _compare(source, out_path, eager, exported)


def _write_with_card(checkpoint: Checkpoint, out_path: Path, data: bytes, export_info: dict[str, Any],
                     training_data: Iterable[tuple[str, str]] | None) -> Path:
    atomic_write_bytes(out_path, data)
    card = model_card(checkpoint, training_data)
    card["export"] = {**export_info, "file": out_path.name, "sha256": file_sha256(out_path)}
    atomic_write_json(card_path(out_path), card)
    return out_path


def export_torchscript(checkpoint_path: str | Path, out_path: str | Path,
                       training_data: Iterable[tuple[str, str]] | None = None) -> Path:
    """Trace the eval model to TorchScript (`torch.jit.load` in Python or LibTorch), check it, write it + card."""
    checkpoint, out_path = load_checkpoint(checkpoint_path), Path(out_path)
    wrapped, example = _exportable(checkpoint)
    data, difference = traced_torchscript(wrapped, example, check_input(checkpoint), checkpoint.path.name, out_path)
    info = {"format": "torchscript", "torch_version": torch.__version__, "max_abs_diff": difference}
    return _write_with_card(checkpoint, out_path, data, info, training_data)


def export_onnx(checkpoint_path: str | Path, out_path: str | Path,
                training_data: Iterable[tuple[str, str]] | None = None) -> Path:
    """Export to ONNX (opset 17, dynamic batch/height/width), check it with onnxruntime, write it + card."""
    checkpoint, out_path = load_checkpoint(checkpoint_path), Path(out_path)
    wrapped, example = _exportable(checkpoint)
    data, difference = exported_onnx(wrapped, example, check_input(checkpoint), checkpoint.path.name, out_path)
    info = {"format": "onnx", "opset": ONNX_OPSET, "onnxruntime_version": onnxruntime.__version__,
            "max_abs_diff": difference, "input_name": "image", "output_name": "logits"}
    return _write_with_card(checkpoint, out_path, data, info, training_data)
