"""Intensity scaling: per-channel percentile ranges, network input, and 8-bit display.

Percentiles come from a strided subsample of at most ~1 M pixels, so they cost little on 8k images,
and ignore non-finite values. The network input keeps values a little outside 0..1 ([-0.5, 1.5]) so
bright objects are not flattened; non-finite pixels become 0 and constant channels become zeros.
"""

from __future__ import annotations

import math

import numpy as np

SAMPLE_PIXELS = 2**20  # percentiles are computed on about this many pixels per channel
NETWORK_CLIP = (-0.5, 1.5)


def _as_hwc(pixels: np.ndarray) -> np.ndarray:
    """View a (H, W) or (H, W, C) array as (H, W, C)."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        return pixels[:, :, None]
    if pixels.ndim != 3:
        raise ValueError(f"expected a (H, W) or (H, W, C) image, got shape {pixels.shape}")
    return pixels


def _per_channel(values, channels: int) -> np.ndarray:
    """Broadcast a scalar or per-channel sequence to a float64 array of length ``channels``."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.broadcast_to(array, (channels,)) if array.size == 1 else array


def percentile_range(pixels: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (lo, hi) percentiles of finite values as float64 arrays of length C (0, 0 if none)."""
    hwc = _as_hwc(pixels)
    height, width = hwc.shape[:2]
    step = max(1, math.ceil(math.sqrt(height * width / SAMPLE_PIXELS)))
    sample = hwc[::step, ::step]
    lows, highs = [], []
    for channel in range(hwc.shape[2]):
        values = sample[:, :, channel].ravel()
        if values.dtype.kind == "f":
            values = values[np.isfinite(values)]
        if values.size == 0:
            lows.append(0.0)
            highs.append(0.0)
            continue
        with np.errstate(all="ignore"):  # float64 extremes overflow in the interpolation; the span check copes
            lo, hi = np.percentile(values, [low, high])
        lows.append(float(lo))
        highs.append(float(hi))
    return np.array(lows), np.array(highs)


def normalize_with_range(pixels: np.ndarray, lo, hi) -> np.ndarray:
    """Map (H, W, C) pixels to float32 (C, H, W) with given per-channel ranges (for tiles of one image)."""
    hwc = _as_hwc(pixels)
    channels = hwc.shape[2]
    lows, highs = _per_channel(lo, channels), _per_channel(hi, channels)
    out = np.empty((channels,) + hwc.shape[:2], np.float32)
    with np.errstate(all="ignore"):
        for c in range(channels):
            span = highs[c] - lows[c]
            if not (np.isfinite(span) and span > 0):
                out[c] = 0.0
                continue
            # float64/int64, or a span so small that 1/span overflows float32 (subnormal float pixels): divide
            # in float64; a float32 1/span may underflow to 0 or overflow to inf.
            if hwc.dtype.itemsize > 4 or not np.isfinite(np.float32(1.0 / span)):
                np.clip((hwc[:, :, c] - lows[c]) / span, *NETWORK_CLIP, out=out[c], casting="unsafe")
            else:
                np.subtract(hwc[:, :, c], lows[c], out=out[c], casting="unsafe")
                out[c] *= np.float32(1.0 / span)
                np.clip(out[c], *NETWORK_CLIP, out=out[c])
            if hwc.dtype.kind == "f":
                out[c][~np.isfinite(hwc[:, :, c])] = 0.0
    return out


def normalize_for_network(pixels: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Float32 (C, H, W): each channel scaled by its own low/high percentiles, clipped to [-0.5, 1.5]."""
    lo, hi = percentile_range(pixels, low, high)
    return normalize_with_range(pixels, lo, hi)


def to_display_uint8(pixels: np.ndarray, lo, hi, gamma: float = 1.0) -> np.ndarray:
    """Scale to uint8 for display: ((x - lo) / (hi - lo)) ** gamma, clipped to 0..255; same shape in.

    ``lo``/``hi`` are scalars or per channel. Integer images of up to 16 bits go through a lookup
    table (fast on 8k 16-bit images); others are computed directly, non-finite pixels shown as 0.
    """
    array = np.asarray(pixels)
    hwc = _as_hwc(array)
    channels = hwc.shape[2]
    lows, highs = _per_channel(lo, channels), _per_channel(hi, channels)
    out = np.empty(hwc.shape, np.uint8)
    small_int = hwc.dtype.kind in "iub" and hwc.dtype.itemsize <= 2
    for c in range(channels):
        if small_int:
            info = np.iinfo(hwc.dtype) if hwc.dtype.kind != "b" else np.iinfo(np.uint8)
            table = _scale(np.arange(info.min, info.max + 1, dtype=np.float64), lows[c], highs[c], gamma)
            index = hwc[:, :, c]
            if info.min < 0 or hwc.dtype.kind == "b":
                index = index.astype(np.int32) - info.min
            out[:, :, c] = table[index]
        else:
            out[:, :, c] = _scale(hwc[:, :, c], lows[c], highs[c], gamma)
    return out.reshape(array.shape)


def _scale(values: np.ndarray, lo: float, hi: float, gamma: float) -> np.ndarray:
    """uint8 of ((values - lo) / (hi - lo)) ** gamma; a step at lo when hi <= lo; non-finite -> 0."""
    with np.errstate(all="ignore"):
        values = np.asarray(values, dtype=np.float64)
        if hi > lo:
            unit = np.clip((values - lo) / (hi - lo), 0.0, 1.0)
        else:
            unit = (values > lo).astype(np.float64)
        if gamma != 1.0:
            unit = unit**gamma
        unit = np.where(np.isfinite(values), unit, 0.0)
    return np.round(unit * 255.0).astype(np.uint8)
