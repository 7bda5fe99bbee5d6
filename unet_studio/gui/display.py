"""Display settings (contrast, gamma, channel) and the conversion of raw pixels to screen uint8.

Conversion goes through core.normalize.to_display_uint8 (a lookup table for integer images), so a
16-bit 8k image converts in tens of milliseconds. Percentiles are taken on a strided subsample.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from unet_studio.core.normalize import percentile_range, to_display_uint8

MODES = ("auto", "minmax", "manual")
COMPOSITE_COLOURS = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 0))
TWO_CHANNEL_COLOURS = ((1, 0, 1), (0, 1, 0))
STATS_PIXELS = 262_144  # percentiles from at most this many pixels (fast on 8k images)


@dataclass(frozen=True)
class DisplaySettings:
    """How raw pixels map to the screen; contrast is computed per channel."""

    mode: str = "auto"  # auto = percentiles, minmax, manual = manual_range
    low_percentile: float = 0.5
    high_percentile: float = 99.5
    gamma: float = 1.0
    channel: int | None = None  # None = composite (RGB for 3 channels), else one channel in grey
    manual_range: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DisplaySettings":
        data = dict(data)
        if data.get("manual_range") is not None:
            data["manual_range"] = tuple(data["manual_range"])
        return cls(**data)


def _sample(channel: np.ndarray) -> np.ndarray:
    step = max(1, math.ceil(math.sqrt(channel.size / STATS_PIXELS)))
    return channel[::step, ::step]


def channel_range(channel: np.ndarray, settings: DisplaySettings) -> tuple[float, float]:
    """(lo, hi) for one (H, W) channel under the settings."""
    if settings.mode == "manual" and settings.manual_range is not None:
        lo, hi = settings.manual_range
    elif settings.mode == "minmax":
        sample = _sample(channel)
        finite = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    else:
        lo, hi = percentile_range(_sample(channel)[:, :, None], settings.low_percentile, settings.high_percentile)
        lo, hi = float(np.ravel(lo)[0]), float(np.ravel(hi)[0])
    return float(lo), float(hi)


def render(pixels: np.ndarray, settings: DisplaySettings, ranges: list | None = None) -> np.ndarray:
    """(H, W, C) raw pixels -> uint8 (H, W) grey or (H, W, 3) RGB for the screen. `ranges` ((lo, hi) per
    channel) fixes the contrast instead of measuring it on `pixels` (tiles of a big image share one)."""
    n_channels = pixels.shape[2]

    def shown_channel(c: int) -> np.ndarray:
        limits = ranges[c] if ranges is not None else channel_range(pixels[:, :, c], settings)
        return to_display_uint8(pixels[:, :, c], *limits, settings.gamma)

    if settings.channel is not None or n_channels == 1:
        return shown_channel(min(settings.channel or 0, n_channels - 1))
    shown = [shown_channel(c) for c in range(n_channels)]
    if n_channels == 3:
        return np.dstack(shown)
    colours = TWO_CHANNEL_COLOURS if n_channels == 2 else COMPOSITE_COLOURS
    rgb = np.zeros(pixels.shape[:2] + (3,), np.uint16)
    for c, channel in enumerate(shown):
        for k, weight in enumerate(colours[c % len(colours)]):
            if weight:
                rgb[:, :, k] += channel
    return np.minimum(rgb, 255).astype(np.uint8)


def channel_ranges(pixels: np.ndarray, settings: DisplaySettings) -> list[tuple[float, float]]:
    """(lo, hi) of every channel of (H, W, C) pixels under the settings (for `render(..., ranges)`)."""
    return [channel_range(pixels[:, :, c], settings) for c in range(pixels.shape[2])]
