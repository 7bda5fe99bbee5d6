"""Image + coloured object contours as an 8-bit RGB PNG, for a quick look or a figure draft."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from skimage.segmentation import find_boundaries

from unet_studio.core.atomic import atomic_write_bytes
from unet_studio.export.errors import ExportError
from unet_studio.export.masks import encode_png
from unet_studio.export.objects import check_instances, majority_classes
from unet_studio.export.styles import palette_color, resolve_classes


def display_rgb(pixels: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """(H, W, C) pixels of any dtype -> uint8 (H, W, 3), each channel stretched between its percentiles.

    One channel is shown grey; two as red/green; three or more use the first three as RGB.
    """
    array = np.asarray(pixels, dtype=np.float64)
    if array.ndim == 2:
        array = array[..., None]
    channels = []
    for index in range(min(array.shape[2], 3)):
        channel = np.nan_to_num(array[..., index], nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = np.percentile(channel, [low, high])
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        channels.append(np.clip((channel - lo) * scale, 0, 255).astype(np.uint8))
    if len(channels) == 1:
        channels *= 3
    while len(channels) < 3:
        channels.append(np.zeros_like(channels[0]))
    return np.stack(channels, axis=-1)


def render_overlay(pixels: np.ndarray, instances: np.ndarray, classes_mask: np.ndarray | None = None,
                   classes: Sequence[Any] | None = None,
                   color_by: Literal["class", "instance"] = "class") -> np.ndarray:
    """uint8 (H, W, 3): the display image with each object's inner boundary in its class or own colour."""
    labels = check_instances(instances)
    rgb = display_rgb(pixels)
    if rgb.shape[:2] != labels.shape:
        raise ValueError(f"image shape {rgb.shape[:2]} differs from labels shape {labels.shape}")
    if color_by not in ("class", "instance"):
        raise ValueError(f"color_by must be 'class' or 'instance', got {color_by!r}")
    lut = np.zeros((int(labels.max()) + 1, 3), np.uint8)
    if color_by == "instance":
        for index in range(1, lut.shape[0]):
            lut[index] = palette_color(index)
    else:
        class_of = majority_classes(labels, classes_mask)
        styles = resolve_classes(classes, max(class_of.values(), default=0))
        for index, value in class_of.items():
            lut[index] = styles[value].color
    edges = find_boundaries(labels, mode="inner") & (labels > 0)
    rgb[edges] = lut[labels[edges]]
    return rgb


def write_overlay(path: str | Path, pixels: np.ndarray, instances: np.ndarray,
                  classes_mask: np.ndarray | None = None, classes: Sequence[Any] | None = None,
                  color_by: Literal["class", "instance"] = "class") -> Path:
    """Render the overlay and write it as PNG, atomically."""
    path = Path(path)
    try:
        rgb = render_overlay(pixels, instances, classes_mask, classes, color_by)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
    atomic_write_bytes(path, encode_png(rgb))
    return path
