"""How fast the default model trains and predicts on this machine, in the precision the policy picks.

What `unet-studio doctor` prints and the speed benchmarks reuse: training patches/s (forward, backward and
AdamW on 256 x 256 patches, batch 4: the Trainer's defaults, without sampling and augmentation), prediction
megapixels/s through the real ``Predictor``, and the achieved GFLOP/s (FLOPs counted by torch's
``FlopCounterMode``; for prediction, over every tile the network ran, overlaps included).
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from unet_studio.inference.config import PredictConfig
from unet_studio.inference.predictor import Predictor
from unet_studio.inference.tiling import axis_starts, fitted_tile
from unet_studio.models.config import DEFAULT_PRESET, ModelConfig
from unet_studio.models.registry import build_model
from unet_studio.runtime.memory_layout import Layout, choose_layout
from unet_studio.runtime.precision import Precision

PATCH, BATCH = 256, 4
PREDICT_SIDE = 1024
CLASSES = [{"value": 1, "name": "background", "color": None}, {"value": 2, "name": "object", "color": None}]
NORMALIZATION = {"method": "percentile", "low": 0.5, "high": 99.5}


@dataclass(frozen=True)
class SpeedCheck:
    """Measured speeds of one model; ``*_gflops`` are achieved rates from counted FLOPs."""

    model: dict
    precision: str
    engine: str
    layout: str
    train_patches_per_s: float
    train_gflops: float
    predict_megapixels_per_s: float
    predict_gflops: float

    def to_dict(self) -> dict:
        return asdict(self)


def default_model_config() -> ModelConfig:
    """The model the app offers by default: the balanced U-Net, one input channel, two classes."""
    return ModelConfig.from_preset(DEFAULT_PRESET)


def count_flops(model: nn.Module, shape: tuple[int, int, int, int], backward: bool) -> int:
    """FLOPs of one forward (and backward) pass of ``model`` on a float32 input of ``shape``, on the CPU."""
    model = copy.deepcopy(model).cpu()
    x = torch.zeros(shape)
    with FlopCounterMode(display=False) as counter:
        if backward:
            model(x).float().sum().backward()
            model.zero_grad(set_to_none=True)
        else:
            with torch.no_grad():
                model(x)
    return int(counter.get_total_flops())


def train_patches_per_s(model: nn.Module, device: torch.device, precision: Precision, steps: int = 4,
                        patch: int = PATCH, batch: int = BATCH, layout: Layout | None = None) -> float:
    """Patches/s of forward + backward + AdamW (``precision`` and ``layout``, by default the one training
    takes in it: runtime/memory_layout.py): the median step after one warm-up step (a busy moment on a shared
    machine slows one step, not the figure)."""
    layout = (layout or choose_layout(precision, model, (1, 1, patch, patch))).memory_format
    model = model.to(device=device, memory_format=layout).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = precision.grad_scaler()
    images = torch.randn(batch, 1, patch, patch, device=device).contiguous(memory_format=layout)
    target = torch.randint(0, 2, (batch, patch, patch), device=device)
    seconds = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        with precision.autocast():
            logits = model(images)
        loss = F.cross_entropy(logits.float(), target)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        _synchronize(device)
        seconds.append(time.perf_counter() - start)
    return batch / statistics.median(seconds[1:])


def predict_megapixels_per_s(predictor: Predictor, side: int = PREDICT_SIDE, rounds: int = 3) -> float:
    """Megapixels/s of ``predictor.predict`` on a ``side x side`` uint8 image: the median of ``rounds``
    predictions after a one-tile warm-up."""
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 1), dtype=np.uint8)
    predictor.predict(pixels[: predictor.config.tile, : predictor.config.tile])
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        predictor.predict(pixels)
        seconds.append(time.perf_counter() - start)
    return side * side / statistics.median(seconds) / 1e6


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check_speed(device: torch.device, config: PredictConfig = PredictConfig(), train_steps: int = 4,
                predict_side: int = PREDICT_SIDE, model_config: ModelConfig | None = None) -> SpeedCheck:
    """Train and predict speed of ``model_config`` (default: the app's default model) on ``device``."""
    model_config = model_config or default_model_config()
    torch.manual_seed(0)
    model = build_model(model_config)
    predictor = Predictor(model, CLASSES, NORMALIZATION, device=device, config=config)
    train_flops = count_flops(build_model(model_config), (1, model_config.in_channels, PATCH, PATCH), True)
    flops_per_pixel = count_flops(predictor.model, (1, model_config.in_channels, 256, 256), False) / 256**2
    layout = choose_layout(predictor.precision, model, (1, 1, PATCH, PATCH))
    patches = train_patches_per_s(model, device, predictor.precision, train_steps, layout=layout)
    megapixels = predict_megapixels_per_s(predictor, predict_side)
    run_per_image_pixel = tiled_pixels(predict_side, predictor.config, 2**model_config.depth) / predict_side**2
    return SpeedCheck(model_config.to_dict(), predictor.precision.name, predictor.engine, layout.describe(),
                      round(patches, 2),
                      round(patches * train_flops / 1e9, 1), round(megapixels, 3),
                      round(megapixels * 1e6 * run_per_image_pixel * flops_per_pixel / 1e9, 1))


def tiled_pixels(side: int, config: PredictConfig, align: int) -> int:
    """Pixels the network runs on for a ``side x side`` image: every tile, overlaps counted each time."""
    length = fitted_tile(side, config.tile, config.overlap, align)
    count = len(axis_starts(side, length, config.overlap, align))
    return (count * length) ** 2
