"""build_model(): the one way the other layers turn a ModelConfig into a network."""

from __future__ import annotations

from torch import nn

from unet_studio.models.attention_unet import AttentionUNet
from unet_studio.models.config import ModelConfig
from unet_studio.models.unet import UNet
from unet_studio.models.unet3d import UNet3D
from unet_studio.models.unetpp import UNetPlusPlus

MODEL_CLASSES: dict[str, type[nn.Module]] = {
    "unet": UNet,
    "unetpp": UNetPlusPlus,
    "attention-unet": AttentionUNet,
    "unet3d": UNet3D,
}


def build_model(config: ModelConfig) -> nn.Module:
    """A freshly initialised network for `config`, with attributes `config` and `margin` (pixels lost per side)."""
    return MODEL_CLASSES[config.arch](config)


def build_with_weights(config: ModelConfig, state_dict: dict) -> nn.Module:
    """The network for `config` holding `state_dict` (e.g. the best weights of a run)."""
    model = build_model(config)
    model.load_state_dict(state_dict)
    return model
