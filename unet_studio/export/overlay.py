"""Image + coloured object contours as an 8-bit RGB PNG, for a quick look or a figure draft."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from skimage.segmentation import find_boundaries

from unet_studio.core.atomic import atomic_write_bytes
from unet_studio.core.colors import palette_color
from unet_studio.core.normalize import percentile_range, to_display_uint8
from unet_studio.export.errors import ExportError
from unet_studio.export.masks import encode_png
from unet_studio.export.objects import check_instances, majority_classes
from unet_studio.export.styles import resolve_classes


def display_rgb(pixels: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """(H, W, C) pixels of any dtype -> uint8 (H, W, 3), each channel stretched between its percentiles.

    One channel is shown grey; two as red/green; three or more use the first three as RGB.
    """
    array = np.asarray(pixels)
    if array.ndim == 2:
        array = array[..., None]
    array = array[..., :3]
    lo, hi = percentile_range(array, low, high)
    shown = to_display_uint8(array, lo, hi)
    if shown.shape[2] == 1:
        return np.repeat(shown, 3, axis=2)
    return np.pad(shown, ((0, 0), (0, 0), (0, 3 - shown.shape[2])))


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
