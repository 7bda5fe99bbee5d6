"""The network a bioimage.io package runs: one of our U-Nets with its padding and a softmax built in.

`StudioProbabilities(**model_config)` is the `pytorch_state_dict` weights' architecture in a package's
rdf.yaml (bioimage.io tools build it from the model config, then load the state dict); the package's
TorchScript and ONNX weights are this module traced. Its input is the normalised image, its output class
probabilities of the same height and width, so tools that apply no post-processing still get probabilities.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from unet_studio.export.model_export import PaddedForExport
from unet_studio.models.config import ModelConfig
from unet_studio.models.registry import build_model

STATE_DICT_PREFIX = "padded.net."  # our checkpoint's weight names sit under this prefix in the package's


class StudioProbabilities(nn.Module):
    """`softmax(net(x))` over the channels, for any height and width (padded inside, cropped back)."""

    def __init__(self, **model_config: Any):
        super().__init__()
        config = ModelConfig.from_dict(dict(model_config), source="bioimage.io architecture kwargs")
        self.padded = PaddedForExport(build_model(config), 2**config.depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.padded(x), dim=1)


def probability_network(model_config: ModelConfig, state_dict: dict[str, torch.Tensor]) -> StudioProbabilities:
    """The package network in eval mode with a checkpoint's weights."""
    network = StudioProbabilities(**model_config.to_dict())
    network.padded.net.load_state_dict(state_dict, strict=True)
    return network.eval()
