"""3-D U-Net (Cicek et al. 2016) for (Z, H, W) volumes, with anisotropic pooling for thin z.

The same recipe as models/unet.py in 3-D: DoubleConv units of conv-norm-ReLU (3x3x3, 'same' padding), the
config's channel widths (base_channels * 2**level), max-pooling down and transposed convolutions (or
trilinear resizing) up. The first ``config.xy_pool_levels`` poolings are (1, 2, 2): they halve H and W but
keep Z, for stacks whose planes are few or far apart; the others halve all three axes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from unet_studio.models.blocks import GROUP_NORM_MAX_GROUPS, round_up
from unet_studio.models.config import ModelConfig

Factor = tuple[int, int, int]


def pool_factors(config: ModelConfig) -> list[Factor]:
    """(z, y, x) pooling factor of each level, top first: (1, 2, 2) for the first xy_pool_levels."""
    return [(1, 2, 2) if level < config.xy_pool_levels else (2, 2, 2) for level in range(config.depth)]


def volume_alignment(config: ModelConfig) -> Factor:
    """(z, y, x) multiples a volume must have for the network: the product of the pooling factors."""
    factors = pool_factors(config)
    return tuple(math.prod(f[axis] for f in factors) for axis in range(3))  # type: ignore[return-value]


def padded_volume_size(shape: tuple[int, int, int], config: ModelConfig) -> Factor:
    """The (Z, H, W) the network runs at for an input of `shape`: each axis rounded up to its alignment,
    at least twice the alignment where that axis is pooled (2 voxels at the bottleneck)."""
    sizes = []
    for size, align in zip(shape, volume_alignment(config)):
        sizes.append(size if align == 1 else max(round_up(size, align), 2 * align))
    return tuple(sizes)  # type: ignore[return-value]


def make_norm3d(norm: str, channels: int) -> nn.Module:
    """The 3-D normalisation layer named by `norm` (as blocks.make_norm for 2-D)."""
    if norm == "batch":
        return nn.BatchNorm3d(channels)
    if norm == "instance":
        return nn.InstanceNorm3d(channels, affine=True)
    if norm == "group":
        return nn.GroupNorm(math.gcd(channels, GROUP_NORM_MAX_GROUPS), channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {norm!r}")


class DoubleConv3d(nn.Sequential):
    """Two 3x3x3 conv-norm-ReLU layers, optional spatial dropout at the end."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, dropout: float = 0.0):
        layers: list[nn.Module] = []
        for channels_in in (in_channels, out_channels):
            layers += [nn.Conv3d(channels_in, out_channels, 3, padding=1, bias=norm == "none"),
                       make_norm3d(norm, out_channels), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout3d(dropout))
        super().__init__(*layers)


class Down3d(nn.Module):
    """Max-pool by `factor`, then a DoubleConv3d."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, factor: Factor, dropout: float = 0.0):
        super().__init__()
        self.pool = nn.MaxPool3d(factor)
        self.conv = DoubleConv3d(in_channels, out_channels, norm, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))


class Up3d(nn.Module):
    """Up-sample by `factor` (transposed conv, or trilinear resize + 1x1x1 conv), concatenate [skip, up],
    DoubleConv3d."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, upsample: str, factor: Factor):
        super().__init__()
        self.factor, self.mode = factor, upsample
        if upsample == "transpose":
            self.up = nn.ConvTranspose3d(in_channels, out_channels, kernel_size=factor, stride=factor)
        elif upsample == "bilinear":
            self.up = nn.Conv3d(in_channels, out_channels, kernel_size=1)
        else:
            raise ValueError(f"unknown upsample mode {upsample!r}")
        self.conv = DoubleConv3d(2 * out_channels, out_channels, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        if self.mode == "bilinear":
            x = F.interpolate(x, scale_factor=tuple(float(f) for f in self.factor), mode="trilinear",
                              align_corners=False)
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet3D(nn.Module):
    """forward(x (N, C, Z, H, W)) -> logits (N, num_classes, Z, H, W) for any Z, H, W: the input is padded
    at the far end of each axis (mirrored where the volume is large enough) to a size the poolings divide,
    and the output cropped back. `margin` is 0 ('same' convolutions)."""

    margin = 0

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        widths = [config.base_channels * 2**level for level in range(config.depth + 1)]
        factors = pool_factors(config)
        dropout = {level: config.dropout if level == config.depth else 0.0 for level in range(config.depth + 1)}
        self.inc = DoubleConv3d(config.in_channels, widths[0], config.norm, dropout[0])
        self.downs = nn.ModuleList(
            Down3d(widths[level - 1], widths[level], config.norm, factors[level - 1], dropout[level])
            for level in range(1, config.depth + 1)
        )
        self.ups = nn.ModuleList(
            Up3d(widths[level + 1], widths[level], config.norm, config.upsample, factors[level])
            for level in reversed(range(config.depth))
        )
        self.head = nn.Conv3d(widths[0], config.num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        depth, height, width = x.shape[-3:]
        padded = padded_volume_size((depth, height, width), self.config)
        features = self._forward_padded(pad_far_end(x, padded))
        return features[..., :depth, :height, :width]

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)


def pad_far_end(x: torch.Tensor, size: tuple[int, int, int]) -> torch.Tensor:
    """Pads x (N, C, Z, H, W) at the far end of each axis up to `size`, mirroring where every axis is large
    enough, else repeating the edge."""
    pads = [target - now for target, now in zip(size, x.shape[-3:])]
    if not any(pads):
        return x
    mirror = all(pad < now for pad, now in zip(pads, x.shape[-3:]))
    return F.pad(x, (0, pads[2], 0, pads[1], 0, pads[0]), mode="reflect" if mirror else "replicate")
