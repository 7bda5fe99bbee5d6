"""Attention U-Net (Oktay et al. 2018): a 'same' U-Net whose skips pass through additive attention gates."""

from __future__ import annotations

import torch
from torch import nn

from unet_studio.models.blocks import AttentionGate, DoubleConv, UpSample, pad_bottom_right
from unet_studio.models.config import ModelConfig
from unet_studio.models.unet import same_padded_size


class AttentionUNet(nn.Module):
    """U-Net where each skip is re-weighted by a gate driven by the up-sampled coarser decoder features."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.margin = 0
        widths = [config.base_channels * 2**level for level in range(config.depth + 1)]
        self.encoders = nn.ModuleList()
        in_channels = config.in_channels
        for level, width in enumerate(widths):
            dropout = config.dropout if level == config.depth else 0.0
            self.encoders.append(DoubleConv(in_channels, width, config.norm, "same", dropout))
            in_channels = width
        self.pool = nn.MaxPool2d(2)
        self.upsamplers = nn.ModuleList()
        self.gates = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(config.depth)):
            width = widths[level]
            self.upsamplers.append(UpSample(widths[level + 1], width, config.upsample))
            self.gates.append(AttentionGate(width, width, max(1, width // 2), config.norm))
            self.decoders.append(DoubleConv(2 * width, width, config.norm))
        self.head = nn.Conv2d(widths[0], config.num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        depth = self.config.depth
        x = pad_bottom_right(x, same_padded_size(height, depth), same_padded_size(width, depth))
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x if level == 0 else self.pool(x))
            skips.append(x)
        skips.pop()
        for upsample, gate, decoder in zip(self.upsamplers, self.gates, self.decoders):
            x = upsample(x)
            x = decoder(torch.cat([gate(skips.pop(), x), x], dim=1))
        return self.head(x)[..., :height, :width]
