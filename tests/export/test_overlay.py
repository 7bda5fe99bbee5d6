"""Overlay PNG: the image stretched to 8-bit with each object's boundary in its colour."""

import cv2
import numpy as np
import pytest

from unet_studio.core.errors import StudioError
from unet_studio.export.overlay import display_rgb, render_overlay, write_overlay
from unet_studio.core.colors import palette_color


def test_display_rgb_stretches_percentiles():
    pixels = np.linspace(1000, 2000, 100 * 3, dtype=np.float32).reshape(10, 30, 1)
    rgb = display_rgb(pixels)
    assert rgb.shape == (10, 30, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    assert np.array_equal(rgb[..., 0], rgb[..., 2])


def test_overlay_png_has_class_colours_on_boundaries(tmp_path, scene):
    pixels, mask, instances = scene
    classes = [{"name": "nucleus", "color": "#ff0000"}, {"name": "square", "color": [0, 0, 255]}]
    path = write_overlay(tmp_path / "o.png", pixels, instances, mask, classes)
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert rgb.shape == mask.shape + (3,)
    assert tuple(rgb[45, 62]) == (0, 0, 255)  # top edge of the square object 4
    assert tuple(rgb[8, 15]) == (255, 0, 0)  # top edge of disc 1 (disk() is open: rows 8..22)
    assert tuple(rgb[15, 15]) != (255, 0, 0)  # the disc's inside keeps the image


def test_overlay_by_instance_uses_one_colour_per_object(scene):
    pixels, mask, instances = scene
    rgb = render_overlay(pixels, instances, mask, color_by="instance")
    assert tuple(rgb[45, 62]) == palette_color(4)
    assert tuple(rgb[8, 15]) == palette_color(1)


def test_overlay_shape_mismatch_names_file(tmp_path, scene):
    pixels, _, instances = scene
    with pytest.raises(StudioError, match=r"o\.png: image shape"):
        write_overlay(tmp_path / "o.png", pixels[:10], instances)
