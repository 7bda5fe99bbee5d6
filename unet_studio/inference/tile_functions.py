"""Tile functions: what the tiler calls on each tile, so any engine can predict through the same tiler.

A tile function maps one network input tile ``float32 (C, h + 2m, w + 2m)`` to class probabilities
``float32 (K, h, w)``. Its ``margin`` (``m``, pixels lost per side, 0 for 'same' padding) and ``align``
(tile sides are multiples of it: the network's pooling factor) tell the tiler how to cut; a plain callable
without them means margin 0, align 1 (as MONAI's ``sliding_window_inference`` takes any callable).
:class:`TorchTiles` runs an ``nn.Module`` in the runtime precision, :class:`FlipAveraged` adds test-time
flips to any tile function, :class:`BlendedTiles` averages one with a scribble run's pixel forest, and
``inference.onnx_tiles.OnnxTiles`` runs the network in ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import numpy as np
import torch
from torch import nn

from unet_studio.models.pixel_forest import CONTEXT, PixelForest, pixel_features
from unet_studio.runtime.precision import Precision

FLIPS = ((), (-1,), (-2,), (-2, -1))


class TileFunction(Protocol):
    """``(C, h + 2m, w + 2m)`` float32 -> ``(K, h, w)`` float32 probabilities, with ``margin`` and ``align``."""

    margin: int
    align: int

    def __call__(self, tile_input: np.ndarray) -> np.ndarray: ...


def pooling_alignment(model: nn.Module) -> int:
    """2**depth for our U-Nets (from ``model.config.depth``), else 1."""
    depth = getattr(getattr(model, "config", None), "depth", 0)
    return 2 ** int(depth)


def tile_geometry(function: Callable[[np.ndarray], np.ndarray]) -> tuple[int, int]:
    """``(margin, align)`` of a tile function (0 and 1 for a plain callable)."""
    return int(getattr(function, "margin", 0)), max(1, int(getattr(function, "align", 1)))


def logits_to_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """float32 probabilities from ``(N, K, h, w)`` logits; one output channel is a sigmoid (-> 2 classes)."""
    logits = logits.float()
    if logits.shape[1] == 1:
        foreground = torch.sigmoid(logits)
        return torch.cat([1 - foreground, foreground], dim=1)
    return torch.softmax(logits, dim=1)


class TorchTiles:
    """An ``nn.Module`` as a tile function on ``device`` in ``precision``; use inside :meth:`evaluating`."""

    def __init__(self, model: nn.Module, device: torch.device, precision: Precision):
        self.model, self.device, self.precision = model, torch.device(device), precision
        self.margin = int(getattr(model, "margin", 0))
        self.align = pooling_alignment(model)

    @contextmanager
    def evaluating(self) -> Iterator[TorchTiles]:
        """The model in eval mode, on the device, channels_last, under inference_mode; its mode given back."""
        was_training = self.model.training
        self.model.to(device=self.device, memory_format=torch.channels_last).eval()
        try:
            with torch.inference_mode():
                yield self
        finally:
            self.model.train(was_training)

    def __call__(self, tile_input: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(tile_input))[None].to(self.device)
        with self.precision.autocast():
            logits = self.model(x.contiguous(memory_format=torch.channels_last))
        if isinstance(logits, (list, tuple)):
            logits = logits[-1]
        return logits_to_probabilities(logits)[0].cpu().numpy()


class FlipAveraged:
    """Test-time augmentation for any tile function: the mean over the four flips, each flipped back."""

    def __init__(self, function: Callable[[np.ndarray], np.ndarray]):
        self.function = function
        self.margin, self.align = tile_geometry(function)

    def __call__(self, tile_input: np.ndarray) -> np.ndarray:
        total = None
        for dims in FLIPS:
            flipped = np.flip(tile_input, dims) if dims else tile_input
            probs = self.function(np.ascontiguousarray(flipped))
            probs = np.flip(probs, dims) if dims else probs
            total = probs.astype(np.float32) if total is None else total + probs
        return total / len(FLIPS)


class ForestBlended:
    """A network (``nn.Module`` or tile function) whose class probabilities are averaged with a scribble
    run's pixel forest (models/pixel_forest.py); :func:`~unet_studio.inference.tiling.tile_function` runs it."""

    def __init__(self, network, forest: PixelForest):
        self.network, self.forest = network, forest


class BlendedTiles:
    """The tile function of a :class:`ForestBlended`: the network's tile function (its flips included) on the
    tile, the forest on the tile with CONTEXT px more on each side (the reach of its largest filter, so tiles
    give what the whole image would), the two probabilities averaged."""

    def __init__(self, inner: Callable[[np.ndarray], np.ndarray], forest: PixelForest):
        self.inner, self.forest = inner, forest
        inner_margin, self.align = tile_geometry(inner)
        self.margin = inner_margin + CONTEXT

    def __call__(self, tile_input: np.ndarray) -> np.ndarray:
        network = self.inner(np.ascontiguousarray(tile_input[:, CONTEXT:-CONTEXT, CONTEXT:-CONTEXT]))
        m = self.margin
        forest = self.forest.classify(pixel_features(tile_input)[m:-m, m:-m])
        return (network.astype(np.float32) + forest) * 0.5
