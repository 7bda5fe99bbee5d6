"""U-Net (Ronneberger et al. 2015) with 'same' or the paper's 'valid' (unpadded) convolutions."""

from __future__ import annotations

import torch
from torch import nn

from unet_studio.core.errors import InputSizeError
from unet_studio.models.blocks import DoubleConv, Down, Up, pad_bottom_right, round_up
from unet_studio.models.config import ModelConfig

VALID_CONV_LOSS = 4  # two unpadded 3x3 convs lose 2 pixels each per axis


def same_padded_size(size: int, depth: int) -> int:
    """Size a 'same' network of this depth runs at: a multiple of 2**depth, at least 2x2 at the bottleneck."""
    return max(round_up(size, 2**depth), 2 ** (depth + 1))


def valid_output_size(size: int, depth: int) -> int | None:
    """Output size of a 'valid' U-Net for an input of `size`, or None when that size does not fit the net."""
    for _ in range(depth):
        size -= VALID_CONV_LOSS
        if size < 2 or size % 2:
            return None
        size //= 2
    size -= VALID_CONV_LOSS
    for _ in range(depth):
        if size < 1:
            return None
        size = 2 * size - VALID_CONV_LOSS
    return size if size >= 1 else None


def valid_margin(depth: int) -> int:
    """Pixels a 'valid' U-Net loses on each side: 92 for the paper's depth 4 (572 -> 388)."""
    return 6 * 2**depth - 4


def valid_input_size(size: int, depth: int) -> int | None:
    """Smallest size >= `size` that a 'valid' U-Net accepts, or None when `size` leaves no output pixel."""
    if size - 2 * valid_margin(depth) < 1:
        return None
    candidate = size
    while valid_output_size(candidate, depth) is None:
        candidate += 1
    return candidate


class UNet(nn.Module):
    """Encoder of Down steps (max-pool + DoubleConv), decoder of Up steps (up-sample, skip, DoubleConv).

    forward(x (N, C, H, W)) -> logits (N, num_classes, H - 2 * margin, W - 2 * margin) for any H, W
    large enough: the input is padded internally to a size the network accepts and the output cropped.
    With `gated` every skip passes an attention gate first (AttentionUNet).
    """

    def __init__(self, config: ModelConfig, gated: bool = False):
        super().__init__()
        self.config = config
        self.margin = valid_margin(config.depth) if config.padding == "valid" else 0
        widths = [config.base_channels * 2**level for level in range(config.depth + 1)]
        deepest = {level: config.dropout if level == config.depth else 0.0 for level in range(config.depth + 1)}
        self.inc = DoubleConv(config.in_channels, widths[0], config.norm, config.padding, deepest[0])
        self.downs = nn.ModuleList(
            Down(widths[level - 1], widths[level], config.norm, config.padding, deepest[level])
            for level in range(1, config.depth + 1)
        )
        self.ups = nn.ModuleList(
            Up(widths[level + 1], widths[level], config.norm, config.padding, config.upsample, gated)
            for level in reversed(range(config.depth))
        )
        self.head = nn.Conv2d(widths[0], config.num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        padded_h, padded_w = self._padded_size(height, width)
        features = self._forward_padded(pad_bottom_right(x, padded_h, padded_w))
        return features[..., : height - 2 * self.margin, : width - 2 * self.margin]

    def _padded_size(self, height: int, width: int) -> tuple[int, int]:
        depth = self.config.depth
        if self.config.padding == "same":
            return same_padded_size(height, depth), same_padded_size(width, depth)
        padded_h, padded_w = valid_input_size(height, depth), valid_input_size(width, depth)
        if padded_h is None or padded_w is None:
            minimum = 2 * self.margin + 1
            raise InputSizeError(
                "unet (valid padding)",
                f"input {height}x{width} is too small: depth {depth} needs at least {minimum}x{minimum}",
            )
        return padded_h, padded_w

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        return self.head(x)
