"""U-Net++ (Zhou et al. 2018): nested, densely connected skip pathways, optional deep supervision."""

from __future__ import annotations

import torch
from torch import nn

from unet_studio.models.blocks import DoubleConv, UpSample, pad_bottom_right
from unet_studio.models.config import ModelConfig
from unet_studio.models.unet import same_padded_size


class UNetPlusPlus(nn.Module):
    """Node X[i][j] (level i, column j) = DoubleConv(cat(X[i][0..j-1], up(X[i+1][j-1]))).

    With deep supervision every top-row node X[0][1..depth] has a 1x1 head; in training mode forward()
    returns the list of their logits (the last is the final output), in eval mode only the final logits.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.margin = 0
        depth = config.depth
        widths = [config.base_channels * 2**level for level in range(depth + 1)]
        self.pool = nn.MaxPool2d(2)
        self.encoders = nn.ModuleList()
        in_channels = config.in_channels
        for level, width in enumerate(widths):
            dropout = config.dropout if level == depth else 0.0
            self.encoders.append(DoubleConv(in_channels, width, config.norm, "same", dropout))
            in_channels = width
        # nested[i][j - 1] and upsamplers[i][j - 1] build node X[i][j] for j = 1 .. depth - i.
        self.upsamplers = nn.ModuleList()
        self.nested = nn.ModuleList()
        for level in range(depth):
            columns = range(1, depth - level + 1)
            self.upsamplers.append(
                nn.ModuleList(UpSample(widths[level + 1], widths[level], config.upsample) for _ in columns)
            )
            self.nested.append(
                nn.ModuleList(DoubleConv((j + 1) * widths[level], widths[level], config.norm) for j in columns)
            )
        n_heads = depth if config.deep_supervision else 1
        self.heads = nn.ModuleList(nn.Conv2d(widths[0], config.num_classes, 1) for _ in range(n_heads))

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        height, width = x.shape[-2:]
        depth = self.config.depth
        x = pad_bottom_right(x, same_padded_size(height, depth), same_padded_size(width, depth))
        nodes: list[list[torch.Tensor]] = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x if level == 0 else self.pool(x))
            nodes.append([x])
        for column in range(1, depth + 1):
            for level in range(depth - column + 1):
                up = self.upsamplers[level][column - 1](nodes[level + 1][column - 1])
                merged = torch.cat([*nodes[level], up], dim=1)
                nodes[level].append(self.nested[level][column - 1](merged))
        top_row = nodes[0][1:]
        if self.config.deep_supervision and self.training:
            return [head(node)[..., :height, :width] for head, node in zip(self.heads, top_row)]
        return self.heads[-1](top_row[-1])[..., :height, :width]
