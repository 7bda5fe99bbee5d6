"""3-D exports: multi-page TIFF labels (dtype, voxel size) and measurements with volume."""

import csv

import numpy as np
import pytest
import tifffile

from unet_studio.data.volume import read_volume
from unet_studio.export.errors import ExportError
from unet_studio.export.volume import VOLUME_COLUMNS, measure_volume, write_volume_labels, write_volume_measurements


def two_boxes():
    labels = np.zeros((6, 20, 20), np.uint16)
    labels[1:3, 2:6, 2:7] = 1  # 2 x 4 x 5 = 40 voxels
    labels[2:6, 10:13, 10:12] = 2  # 4 x 3 x 2 = 24 voxels
    return labels


def test_labels_round_trip_as_a_z_stack_with_the_voxel_size(tmp_path):
    path = write_volume_labels(tmp_path / "objects.tif", two_boxes(), (2.0, 0.5, 0.25))
    volume = read_volume(path)
    assert volume.pixels.dtype == np.uint8 and volume.shape == (6, 20, 20)
    assert np.array_equal(volume.pixels[..., 0], two_boxes())
    assert volume.voxel_size_um[0] == pytest.approx(2.0)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej and len(tif.pages) == 6


def test_many_objects_keep_their_ids(tmp_path):
    labels = np.arange(2 * 300 * 300, dtype=np.uint32).reshape(2, 300, 300)
    back = tifffile.imread(write_volume_labels(tmp_path / "many.tif", labels))
    assert back.dtype == np.uint32 and np.array_equal(back, labels)


@pytest.mark.parametrize("labels, name, message", [
    (np.zeros((4, 4), np.uint8), "flat.tif", "must be integer \\(Z, H, W\\)"),
    (np.zeros((2, 4, 4), np.uint8), "labels.png", "written as TIFF"),
    (np.full((2, 4, 4), -1, np.int32), "neg.tif", "must not be negative"),
])
def test_bad_label_volumes_are_refused_naming_the_file(tmp_path, labels, name, message):
    with pytest.raises(ExportError, match=message) as caught:
        write_volume_labels(tmp_path / name, labels)
    assert name in str(caught.value)
    assert not (tmp_path / name).exists()


def test_measurements_give_volume_in_voxels_and_um3():
    intensity = np.zeros((6, 20, 20), np.uint8)
    intensity[two_boxes() == 2] = 100
    classes = (two_boxes() > 0).astype(np.uint8) * 2
    rows = measure_volume(two_boxes(), intensity, classes, ["background", "cell", "nucleus"], (2.0, 0.5, 0.5),
                          "stack.tif")
    assert [row["volume_voxels"] for row in rows] == [40.0, 24.0]
    assert [row["volume_um3"] for row in rows] == [pytest.approx(20.0), pytest.approx(12.0)]
    assert rows[1]["mean_intensity"] == pytest.approx(100.0) and rows[0]["mean_intensity"] == 0.0
    assert (rows[0]["centroid_z"], rows[0]["bbox_min_y"], rows[0]["bbox_max_x"]) == (1.5, 2, 7)
    assert {row["class"] for row in rows} == {"nucleus"} and rows[0]["image"] == "stack.tif"


def test_without_voxel_size_the_um3_column_stays_empty(tmp_path):
    rows = measure_volume(two_boxes())
    assert all(row["volume_um3"] == "" for row in rows)
    path = write_volume_measurements(tmp_path / "m.csv", rows)
    with open(path, newline="") as handle:
        read = list(csv.DictReader(handle))
    assert list(read[0]) == list(VOLUME_COLUMNS) and len(read) == 2
