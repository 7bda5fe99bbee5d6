"""Attention U-Net (Oktay et al. 2018): the U-Net with an additive attention gate on every skip."""

from __future__ import annotations

from unet_studio.models.config import ModelConfig
from unet_studio.models.unet import UNet


class AttentionUNet(UNet):
    """A 'same' U-Net whose skips are re-weighted by gates driven by the up-sampled coarser decoder features
    (ModelConfig refuses 'valid' padding for it)."""

    def __init__(self, config: ModelConfig):
        super().__init__(config, gated=True)
