"""ONNX Runtime as a tile function: the same network, exported in memory, run by ORT's CPU kernels.

On CPUs without native bf16 (most laptops) ORT's fp32 convolutions ran the default U-Net's tiles faster
than torch's fp32 eager path (see benchmarks/predict_speed.py); the tiler treats it like any tile function.
Exports are cached in the user cache folder by a hash of the weights, so a model is exported once.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import warnings

import numpy as np
import onnxruntime
import torch
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors
from torch import nn

from unet_studio.core.errors import StudioError
from unet_studio.inference.tile_functions import pooling_alignment
from unet_studio.runtime.cache import cached_file, store_file

ONNX_OPSET = 17


def onnx_problem(model: nn.Module) -> str | None:
    """Why ``model`` cannot run through ONNX Runtime here, or None when it can."""
    config = getattr(model, "config", None)
    if config is None:
        return "ONNX Runtime: not one of our U-Nets (no config)"
    if int(getattr(model, "margin", 0)):
        return "ONNX Runtime: only 'same'-padded networks"
    if "CPUExecutionProvider" not in onnxruntime.get_available_providers():
        return "ONNX Runtime: no CPU provider in this build"
    return None


def onnx_bytes(model: nn.Module, in_channels: int, side: int) -> bytes:
    """The eval model as ONNX with dynamic height and width, traced at ``side x side`` (a size on the
    pooling grid, where the network does no padding of its own, so the graph holds for every such size)."""
    example = torch.zeros(1, in_channels, side, side)
    buffer = io.BytesIO()
    exported = copy.deepcopy(model).to(device="cpu", memory_format=torch.contiguous_format).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        axes = {2: "height", 3: "width"}
        torch.onnx.export(exported, (example,), buffer, input_names=["image"], output_names=["logits"],
                          opset_version=ONNX_OPSET, dynamic_axes={"image": axes, "logits": axes}, dynamo=False)
    return buffer.getvalue()


def model_key(model: nn.Module, side: int) -> str:
    """A hash of what the export depends on: config, weights, trace size, torch and opset."""
    digest = hashlib.sha256(json.dumps([model.config.to_dict(), side, torch.__version__, ONNX_OPSET]).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def cached_onnx_bytes(model: nn.Module, in_channels: int, side: int) -> bytes:
    """:func:`onnx_bytes`, from the cache when this very network was exported before."""
    name = f"onnx/{model_key(model, side)}.onnx"
    path = cached_file(name)
    if path is not None:
        try:
            return path.read_bytes()
        except OSError:
            pass
    data = onnx_bytes(model, in_channels, side)
    store_file(name, data)
    return data


def _softmax(logits: np.ndarray) -> np.ndarray:
    if logits.shape[0] == 1:
        foreground = 1.0 / (1.0 + np.exp(-logits))
        return np.concatenate([1.0 - foreground, foreground]).astype(np.float32)
    shifted = np.exp(logits - logits.max(axis=0, keepdims=True))
    return (shifted / shifted.sum(axis=0, keepdims=True)).astype(np.float32)


class OnnxTiles:
    """A 'same'-padded U-Net run by ONNX Runtime on the CPU: (C, h, w) -> (K, h, w) probabilities.

    Tiles smaller than the network's smallest input (2 ** (depth + 1)) are padded and cropped back as the
    network itself does it (mirrored where the tile is large enough, else its edge repeated).
    """

    margin = 0

    def __init__(self, model: nn.Module, threads: int | None = None):
        problem = onnx_problem(model)
        if problem:
            raise StudioError("prediction backend", problem)
        config = model.config
        self.align = pooling_alignment(model)
        self.min_side = 2 * self.align
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        data = cached_onnx_bytes(model, config.in_channels, 2 * self.min_side)
        try:
            self.session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except (ort_errors.InvalidProtobuf, ort_errors.Fail, ort_errors.InvalidGraph):  # damaged cache file
            data = onnx_bytes(model, config.in_channels, 2 * self.min_side)
            self.session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])

    def __call__(self, tile_input: np.ndarray) -> np.ndarray:
        _, height, width = tile_input.shape
        pad_h, pad_w = max(0, self.min_side - height), max(0, self.min_side - width)
        x = np.ascontiguousarray(tile_input, np.float32)
        if pad_h or pad_w:
            mirror = pad_h < height and pad_w < width
            x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w)), mode="reflect" if mirror else "edge")
        logits = self.session.run(["logits"], {"image": x[None]})[0][0]
        return _softmax(logits[:, :height, :width])
