"""Building blocks shared by the U-Net family: conv blocks, Down/Up steps, up-sampling, attention gates,
pad/crop helpers."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

GROUP_NORM_MAX_GROUPS = 8


def make_norm(norm: str, channels: int) -> nn.Module:
    """The normalisation layer named by `norm` for `channels` feature maps ('none' gives identity)."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "group":
        return nn.GroupNorm(math.gcd(channels, GROUP_NORM_MAX_GROUPS), channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {norm!r}")


class ConvNormReLU(nn.Sequential):
    """3x3 (or k x k) convolution, normalisation, ReLU; 'valid' convs lose k-1 pixels per axis."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, padding: str, kernel_size: int = 3):
        pad = kernel_size // 2 if padding == "same" else 0
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=pad, bias=norm == "none"),
            make_norm(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """The U-Net unit: two ConvNormReLU layers, optional spatial dropout at the end."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: str,
        padding: str = "same",
        dropout: float = 0.0,
    ):
        layers: list[nn.Module] = [
            ConvNormReLU(in_channels, out_channels, norm, padding),
            ConvNormReLU(out_channels, out_channels, norm, padding),
        ]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class UpSample(nn.Module):
    """Doubles H and W and maps channels: 2x2 transposed conv, or bilinear resize then 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int, mode: str):
        super().__init__()
        self.mode = mode
        if mode == "transpose":
            self.conv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        elif mode == "bilinear":
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        else:
            raise ValueError(f"unknown upsample mode {mode!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "bilinear":
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.conv(x)


class Down(nn.Module):
    """One encoder step: 2x2 max-pool, then a DoubleConv (halves H and W, maps the channels)."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, padding: str = "same", dropout: float = 0.0):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = DoubleConv(in_channels, out_channels, norm, padding, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))


class Up(nn.Module):
    """One decoder step: up-sample the coarser features, crop the skip to their size ('valid' padding),
    re-weight it by an attention gate when `gated`, concatenate [skip, up] and apply a DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, padding: str, upsample: str,
                 gated: bool = False):
        super().__init__()
        self.up = UpSample(in_channels, out_channels, upsample)
        self.gate = AttentionGate(out_channels, out_channels, max(1, out_channels // 2), norm) if gated else None
        self.conv = DoubleConv(2 * out_channels, out_channels, norm, padding)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        skip = center_crop(skip, x.shape[-2], x.shape[-1])
        if self.gate is not None:
            skip = self.gate(skip, x)
        return self.conv(torch.cat([skip, x], dim=1))


class AttentionGate(nn.Module):
    """Additive attention (Oktay et al. 2018): weights skip features x by a map computed from x and gate g.

    g is the decoder signal already up-sampled to x's size, so both projections are 1x1 convs.
    """

    def __init__(self, skip_channels: int, gate_channels: int, inter_channels: int, norm: str):
        super().__init__()
        self.project_skip = nn.Sequential(
            nn.Conv2d(skip_channels, inter_channels, 1, bias=norm == "none"), make_norm(norm, inter_channels)
        )
        self.project_gate = nn.Sequential(
            nn.Conv2d(gate_channels, inter_channels, 1, bias=norm == "none"), make_norm(norm, inter_channels)
        )
        self.coefficients = nn.Conv2d(inter_channels, 1, 1)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        hidden = F.relu(self.project_skip(x) + self.project_gate(g))
        return x * torch.sigmoid(self.coefficients(hidden))


def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The central height x width window of x (N, C, H, W); used for 'valid' skip connections."""
    top = (x.shape[-2] - height) // 2
    left = (x.shape[-1] - width) // 2
    return x[..., top : top + height, left : left + width]


def pad_bottom_right(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pads x at the bottom and right up to height x width, mirroring where the image is large enough."""
    pad_h = height - x.shape[-2]
    pad_w = width - x.shape[-1]
    if pad_h == 0 and pad_w == 0:
        return x
    mirror = pad_h < x.shape[-2] and pad_w < x.shape[-1]
    return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if mirror else "replicate")


def round_up(value: int, multiple: int) -> int:
    """Smallest multiple of `multiple` that is >= value."""
    return -(-value // multiple) * multiple
