"""Semantic mask and instance TIFF writers, read back with tifffile / OpenCV."""

import cv2
import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import StudioError
from unet_studio.export.masks import write_instances, write_semantic_mask


@pytest.mark.parametrize("name", ["m.png", "m.tif"])
def test_semantic_mask_round_trip(tmp_path, scene, name):
    _, mask, _ = scene
    path = write_semantic_mask(tmp_path / name, mask)
    back = tifffile.imread(path) if name.endswith(".tif") else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, mask)


def test_semantic_mask_past_255_classes_is_16_bit(tmp_path):
    mask = np.arange(600, dtype=np.int32).reshape(20, 30)
    back = cv2.imread(str(write_semantic_mask(tmp_path / "m.png", mask)), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, mask)


def test_instances_round_trip_uint16_single_page_grey(tmp_path, scene):
    _, _, instances = scene
    path = write_instances(tmp_path / "i.tif", instances.astype(np.int64))
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 1
        page = tif.pages[0]
        assert page.photometric == tifffile.PHOTOMETRIC.MINISBLACK
        back = page.asarray()
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, instances)


def test_instances_past_65535_are_uint32(tmp_path):
    labels = np.zeros((4, 4), np.int64)
    labels[0, 0], labels[3, 3] = 70000, 5
    back = tifffile.imread(write_instances(tmp_path / "i.tiff", labels, compress=True))
    assert back.dtype == np.uint32
    np.testing.assert_array_equal(back, labels)


def test_bad_inputs_raise_one_line_errors(tmp_path):
    with pytest.raises(StudioError, match=r"i\.png: instance labels are written as TIFF"):
        write_instances(tmp_path / "i.png", np.zeros((4, 4), np.uint16))
    with pytest.raises(StudioError, match="must be 2-D"):
        write_semantic_mask(tmp_path / "m.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(StudioError, match="unknown mask format"):
        write_semantic_mask(tmp_path / "m.jpg", np.zeros((4, 4), np.uint8))
    assert not list(tmp_path.iterdir())
