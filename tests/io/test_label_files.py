"""Importing existing PNG/TIFF label images into the annotation convention."""

import cv2
import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import StudioError
from unet_studio.io.label_files import import_label_image, read_label_image


def test_png_mask_maps_to_annotation_convention(tmp_path, scene):
    _, mask, _ = scene
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), mask)
    annotation = import_label_image(path, mask.shape)
    assert annotation.dtype == np.uint8
    np.testing.assert_array_equal(annotation, mask + 1)
    assert set(np.unique(annotation)) == {1, 2, 3}


def test_rgb_grey_png_and_float_tiff_are_accepted(tmp_path):
    mask = np.array([[0, 1], [2, 0]], np.uint8)
    cv2.imwrite(str(tmp_path / "rgb.png"), np.dstack([mask * 100] * 3))
    np.testing.assert_array_equal(read_label_image(tmp_path / "rgb.png"), mask * 100)
    tifffile.imwrite(tmp_path / "f.tif", mask.astype(np.float32))
    np.testing.assert_array_equal(import_label_image(tmp_path / "f.tif", (2, 2)), mask + 1)


@pytest.mark.parametrize("pixels, name, message", [
    (np.dstack([np.zeros((4, 4)), np.ones((4, 4)), np.zeros((4, 4))]).astype(np.uint8), "c.png", "colour image"),
    (np.full((4, 4), 0.5, np.float32), "h.tif", "fractional values"),
    (np.full((4, 4), -1, np.int16), "n.tif", "negative values"),
    (np.zeros((3, 4), np.uint8), "s.png", r"shape \(3, 4\) differs"),
])
def test_bad_label_images_raise_one_line_errors(tmp_path, pixels, name, message):
    path = tmp_path / name
    if name.endswith(".png"):
        cv2.imwrite(str(path), pixels)
    else:
        tifffile.imwrite(path, pixels)
    with pytest.raises(StudioError, match=rf"{name}: .*{message}") as caught:
        import_label_image(path, (4, 4))
    assert "\n" not in str(caught.value)


def test_missing_unreadable_and_stacked_files(tmp_path):
    with pytest.raises(StudioError, match=r"x\.png: file not found"):
        read_label_image(tmp_path / "x.png")
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(StudioError, match=r"bad\.png: not a PNG image"):
        read_label_image(tmp_path / "bad.png")
    (tmp_path / "bad.tif").write_bytes(b"garbage")
    with pytest.raises(StudioError, match=r"bad\.tif: not a TIFF image"):
        read_label_image(tmp_path / "bad.tif")
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((5, 8, 8), np.uint16))
    with pytest.raises(StudioError, match=r"stack\.tif: label image must have one plane, found 5"):
        read_label_image(tmp_path / "stack.tif")
    with pytest.raises(StudioError, match=r"m\.jpg: label images are PNG or TIFF"):
        read_label_image(tmp_path / "m.jpg")
