"""bioimage.io pre- and post-processing steps (spec 0.5 names and kwargs) on numpy arrays.

Pre-processing runs once on the whole image, shaped ``(C, H, W)`` (one sample, so a "batch" axis in the
kwargs reduces nothing), before tiling, as UNet Studio normalises whole images; post-processing runs per
tile on ``(K, h, w)``, so only pixel-wise steps are taken there. A step outside these raises ValueError
with its name, which the importer turns into one line naming the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from unet_studio.core.normalize import percentile_range

AXIS_POSITION = {"channel": 0, "c": 0, "y": 1, "x": 2}
PRE_STEPS = ("ensure_dtype", "scale_range", "clip", "scale_linear", "zero_mean_unit_variance",
             "fixed_zero_mean_unit_variance")
POST_STEPS = ("ensure_dtype", "softmax", "sigmoid", "clip", "scale_linear")
Step = tuple[str, dict[str, Any]]


def _reduced(kwargs: dict[str, Any]) -> tuple[int, ...]:
    """Array axes a statistic is taken over: the kwargs' axes (batch dropped), by default all of them."""
    axes = kwargs.get("axes")
    if axes is None:
        return (0, 1, 2)
    return tuple(sorted({AXIS_POSITION[str(a)] for a in axes if str(a) in AXIS_POSITION}))


def _along(values: Any, kwargs: dict[str, Any], ndim: int = 3) -> np.ndarray:
    """A scalar, or per-index values along kwargs["axis"], shaped to broadcast over (C, H, W)."""
    array = np.asarray(values, np.float32)
    axis = kwargs.get("axis")
    if array.ndim == 0 or axis is None:
        return array
    shape = [1] * ndim
    shape[AXIS_POSITION[str(axis)]] = array.size
    return array.reshape(shape)


def _scale_range(image: np.ndarray, kwargs: dict[str, Any]) -> np.ndarray:
    low, high = float(kwargs.get("min_percentile", 0.0)), float(kwargs.get("max_percentile", 100.0))
    eps = float(kwargs.get("eps", 1e-6))
    axes = _reduced(kwargs)
    if axes == (1, 2):  # per channel: the app's own (subsampled, non-finite ignored) percentiles
        lo, hi = percentile_range(image.transpose(1, 2, 0), low, high)
        lo, hi = lo.reshape(-1, 1, 1), hi.reshape(-1, 1, 1)
    elif axes == (0, 1, 2):  # jointly over the channels
        lo, hi = percentile_range(image.reshape(-1, image.shape[2])[:, :, None], low, high)
    else:
        raise ValueError(f"scale_range over axes {kwargs.get('axes')} is not supported")
    return ((image - lo) / (hi - lo + eps)).astype(np.float32)


def _zero_mean_unit_variance(image: np.ndarray, kwargs: dict[str, Any]) -> np.ndarray:
    axes = _reduced(kwargs)
    mean = np.nanmean(image, axis=axes, keepdims=True)
    std = np.nanstd(image, axis=axes, keepdims=True)
    return ((image - mean) / (std + float(kwargs.get("eps", 1e-6)))).astype(np.float32)


def _pixelwise(name: str, array: np.ndarray, kwargs: dict[str, Any]) -> np.ndarray:
    if name == "ensure_dtype":
        return array.astype(np.float32, copy=False)
    if name == "clip":
        if kwargs.get("min_percentile") is not None or kwargs.get("max_percentile") is not None:
            raise ValueError("clip at percentiles is not supported")
        return np.clip(array, kwargs.get("min"), kwargs.get("max"))
    if name == "scale_linear":
        return (array * _along(kwargs.get("gain", 1.0), kwargs) + _along(kwargs.get("offset", 0.0), kwargs))
    if name == "fixed_zero_mean_unit_variance":
        std = _along(kwargs.get("std", 1.0), kwargs)
        return (array - _along(kwargs.get("mean", 0.0), kwargs)) / (std + float(kwargs.get("eps", 1e-6)))
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-array))
    if name == "softmax":
        axis = AXIS_POSITION[str(kwargs.get("axis", "channel"))]
        shifted = np.exp(array - array.max(axis=axis, keepdims=True))
        return shifted / shifted.sum(axis=axis, keepdims=True)
    raise ValueError(f"processing step {name!r} is not supported")


def check_steps(steps: Sequence[Step], allowed: Sequence[str], where: str) -> None:
    """ValueError naming the first step that is not in `allowed`."""
    for name, _ in steps:
        if name not in allowed:
            raise ValueError(f"its {where} step {name!r} is not supported here (supported: {', '.join(allowed)})")


def preprocess(image: np.ndarray, steps: Sequence[Step]) -> np.ndarray:
    """float32 (C, H, W) after the package's pre-processing; non-finite results become 0 (as in training)."""
    array = np.asarray(image, np.float32)
    for name, kwargs in steps:
        if name == "scale_range":
            array = _scale_range(array, kwargs)
        elif name == "zero_mean_unit_variance":
            array = _zero_mean_unit_variance(array, kwargs)
        else:
            array = _pixelwise(name, array, kwargs)
    array = np.asarray(array, np.float32)
    array[~np.isfinite(array)] = 0.0
    return array


def postprocess(output: np.ndarray, steps: Sequence[Step]) -> np.ndarray:
    """The package's pixel-wise post-processing on one tile's (K, h, w) output."""
    array = np.asarray(output, np.float32)
    for name, kwargs in steps:
        array = _pixelwise(name, array, kwargs)
    return np.asarray(array, np.float32)
