"""ImageJ ROI zips: written objects read back with roifile, and imported back as annotations."""

import zipfile

import numpy as np
import pytest
import roifile
from skimage.draw import polygon as fill_polygon

from unet_studio.core.errors import StudioError
from unet_studio.export.objects import polygon_area
from unet_studio.export.rois import write_imagej_rois
from unet_studio.io.imagej_rois import rois_to_annotation


def test_roi_zip_round_trip(tmp_path, scene):
    _, mask, instances = scene
    path = write_imagej_rois(tmp_path / "a.zip", instances, mask, ["disc", "square"])
    rois = roifile.roiread(path)
    assert len(rois) == 5
    assert [r.name for r in rois] == ["disc-1", "disc-2", "disc-3", "square-4", "square-5"]
    for label, roi in enumerate(rois, start=1):
        assert roi.roitype == roifile.ROI_TYPE.POLYGON
        xy = roi.coordinates()
        area = (instances == label).sum()
        assert polygon_area(xy) == pytest.approx(area, rel=0.1)
        # every vertex lies on the object's outline: within half a pixel of one of its pixels
        rows, cols = np.nonzero(instances == label)
        centres = np.column_stack([cols + 0.5, rows + 0.5])
        nearest = np.abs(xy[:, None, :] - centres[None]).max(axis=2).min(axis=1)
        assert nearest.max() <= 0.5
        inside_rows, inside_cols = fill_polygon(xy[:, 1] - 0.5, xy[:, 0] - 0.5, instances.shape)
        assert np.all(instances[inside_rows, inside_cols] == label)


def test_roi_zip_import_reproduces_objects(tmp_path, scene):
    _, _, instances = scene
    path = write_imagej_rois(tmp_path / "a.zip", instances)
    annotation = rois_to_annotation(path, instances.shape, class_value=3)
    assert annotation.dtype == np.uint8
    np.testing.assert_array_equal(annotation, np.where(instances > 0, 3, 0))
    dense = rois_to_annotation(path, instances.shape, class_value=2, background_value=1)
    np.testing.assert_array_equal(dense, np.where(instances > 0, 2, 1))


def test_import_of_imagej_rectangle_oval_and_skipped_point(tmp_path):
    rect = roifile.ImagejRoi(roitype=roifile.ROI_TYPE.RECT, left=2, top=3, right=6, bottom=5, name="r")
    oval = roifile.ImagejRoi(roitype=roifile.ROI_TYPE.OVAL, left=10, top=10, right=20, bottom=20, name="o")
    point = roifile.ImagejRoi.frompoints([[1, 1]], name="p")
    point.roitype = roifile.ROI_TYPE.POINT
    path = tmp_path / "set.zip"
    roifile.roiwrite(path, [rect, oval, point])
    annotation = rois_to_annotation(path, (32, 32), class_value=2)
    assert np.all(annotation[3:5, 2:6] == 2) and annotation[3:5, 2:6].size == (annotation[:8] == 2).sum()
    assert 60 < (annotation[8:] == 2).sum() < 100  # disc of diameter 10: about 78 pixels
    assert annotation[1, 1] == 0


def test_bad_roi_files_raise_one_line_errors(tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(StudioError, match=r"broken\.zip: not a readable ImageJ ROI file"):
        rois_to_annotation(broken, (8, 8), 2)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    with pytest.raises(StudioError, match="no area ROIs"):
        rois_to_annotation(empty, (8, 8), 2)
    with pytest.raises(StudioError, match=r"a\.txt: an ImageJ ROI set is a \.zip"):
        write_imagej_rois(tmp_path / "a.txt", np.ones((4, 4), np.uint16))
