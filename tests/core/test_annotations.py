"""Annotation files and the mask <-> annotation conventions."""

import cv2
import numpy as np
import pytest
import tifffile

from unet_studio.core.annotations import (
    annotation_file,
    annotation_to_mask,
    classes_present,
    label_status,
    mask_to_annotation,
    read_annotation,
    write_annotation,
)
from unet_studio.core.errors import AnnotationError


def test_small_labels_round_trip_as_uint8_png(tmp_path):
    labels = np.random.default_rng(0).integers(0, 4, (31, 45)).astype(np.uint8)
    written = write_annotation(tmp_path / "img.001", labels)
    assert written.name == "img.001.png" and annotation_file(tmp_path / "img.001") == written
    back = read_annotation(written, (31, 45))
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, labels)


def test_large_labels_use_uint16_tiff_and_stale_file_is_removed(tmp_path):
    labels = np.zeros((10, 12), np.uint16)
    labels[2, 3] = 300
    write_annotation(tmp_path / "a", labels.astype(np.uint8) // 2)
    written = write_annotation(tmp_path / "a", labels)
    assert written.name == "a.tif" and not (tmp_path / "a.png").exists()
    np.testing.assert_array_equal(read_annotation(written), labels)
    again = write_annotation(tmp_path / "a.tif", np.ones((10, 12), np.int64))
    assert again.name == "a.png" and not (tmp_path / "a.tif").exists()


def test_shape_mismatch_names_file_and_both_shapes(tmp_path):
    path = write_annotation(tmp_path / "cell", np.zeros((30, 40), np.uint8))
    with pytest.raises(AnnotationError) as info:
        read_annotation(path, (32, 40))
    message = str(info.value)
    assert "cell.png" in message and "30 x 40" in message and "32 x 40" in message and "\n" not in message


def test_wrong_dtype_channels_and_corrupt_files_are_explained(tmp_path):
    tifffile.imwrite(tmp_path / "f.tif", np.zeros((4, 4), np.float32))
    cv2.imwrite(str(tmp_path / "rgb.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(AnnotationError, match=r"f\.tif: annotation dtype is float32"):
        read_annotation(tmp_path / "f.tif")
    with pytest.raises(AnnotationError, match=r"rgb\.png: annotation has 3 channel"):
        read_annotation(tmp_path / "rgb.png")
    with pytest.raises(AnnotationError, match=r"bad\.png: cannot read annotation \(not a PNG image"):
        read_annotation(tmp_path / "bad.png")


@pytest.mark.parametrize("labels", [np.zeros((3, 3, 2), np.uint8), np.full((2, 2), -1), np.full((2, 2), 70000)])
def test_invalid_labels_are_refused(tmp_path, labels):
    with pytest.raises(AnnotationError, match="a:"):
        write_annotation(tmp_path / "a", labels)
    assert list(tmp_path.iterdir()) == []


def test_mask_annotation_conversion():
    mask = np.array([[0, 1], [2, 0]], np.uint8)
    annotation = mask_to_annotation(mask)
    np.testing.assert_array_equal(annotation, [[1, 2], [3, 1]])
    np.testing.assert_array_equal(annotation_to_mask(annotation), mask)
    np.testing.assert_array_equal(annotation_to_mask(np.array([[0, 1, 3]], np.uint8)), [[0, 0, 2]])
    assert mask_to_annotation(np.array([[True, False]])).tolist() == [[2, 1]]


def test_mask_past_254_classes_promotes_dtype():
    annotation = mask_to_annotation(np.array([[254, 255]], np.uint8))
    assert annotation.dtype == np.uint16 and annotation.tolist() == [[255, 256]]
    assert mask_to_annotation(np.array([[253]], np.uint8)).dtype == np.uint8
    with pytest.raises(AnnotationError, match="negative"):
        mask_to_annotation(np.array([[-1, 0]]))


@pytest.mark.parametrize(
    ("annotation", "status"),
    [([[0, 0], [0, 0]], "unlabelled"), ([[0, 1], [2, 0]], "partial"), ([[1, 1], [3, 2]], "labelled")],
)
def test_label_status(annotation, status):
    assert label_status(np.array(annotation, np.uint8)) == status


def test_classes_present():
    assert classes_present(np.array([[0, 3], [1, 3]], np.uint8)) == (1, 3)
    assert classes_present(np.zeros((2, 2), np.uint16)) == ()
    assert classes_present(np.array([[0, 70000]], np.int64)) == (70000,)
    wide = np.zeros((6, 8), np.uint16)
    wide[0, 3], wide[5, 7] = 2, 65535
    assert classes_present(wide) == (2, 65535)
    assert classes_present(wide[:, ::3]) == (2,)  # a strided view: the 65535 sits in column 7
    assert classes_present(np.array([0, 4, 255], np.uint8)) == (4, 255)
