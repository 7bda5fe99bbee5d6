"""Importing label folders into a project: masks, instances, annotations, ImageJ ROI zips; merging."""

import cv2
import numpy as np
import pytest
import tifffile

from tests.conftest import make_blobs
from unet_studio.cli import main
from unet_studio.core.errors import AnnotationError
from unet_studio.core.project import Project
from unet_studio.io.annotation_import import import_annotations, merge
from unet_studio.export.rois import write_imagej_rois


@pytest.fixture
def project(tmp_path):
    images = tmp_path / "p" / "images"
    images.mkdir(parents=True)
    paths = []
    for i in range(2):
        image, _ = make_blobs((40, 50), seed=i)
        cv2.imwrite(str(images / f"im{i}.png"), image)
        paths.append(images / f"im{i}.png")
    return Project.create(tmp_path / "p", paths)


def test_masks_become_fully_labelled_annotations(project, tmp_path):
    labels = tmp_path / "masks"
    labels.mkdir()
    mask = np.zeros((40, 50), np.uint8)
    mask[5:15, 5:15] = 1
    mask[20:30, 20:30] = 2
    cv2.imwrite(str(labels / "im0.png"), mask)
    ids, problems = import_annotations(project, labels, "mask")
    assert ids == ["im0"] and problems == []
    np.testing.assert_array_equal(project.load_annotation("im0"), mask + 1)
    assert project.image("im0").status == "labelled"
    assert [c.value for c in project.classes] == [1, 2, 3]  # class 3 was added for mask value 2


def test_instances_become_one_object_class(project, tmp_path):
    labels = tmp_path / "inst"
    labels.mkdir()
    inst = np.zeros((40, 50), np.uint16)
    inst[2:8, 2:8], inst[10:20, 10:20] = 1, 7
    tifffile.imwrite(labels / "im1.tif", inst)
    assert import_annotations(project, labels, "instances")[0] == ["im1"]
    np.testing.assert_array_equal(project.load_annotation("im1"), np.where(inst > 0, 2, 1))


def test_roi_zip_merges_into_existing_scribbles(project, tmp_path):
    existing = np.zeros((40, 50), np.uint8)
    existing[35:38, 0:50] = 1  # a background scribble far from the ROI
    project.save_annotation("im0", existing)
    inst = np.zeros((40, 50), np.uint16)
    inst[5:15, 10:20] = 1
    labels = tmp_path / "rois"
    labels.mkdir()
    write_imagej_rois(labels / "im0.zip", inst)
    assert import_annotations(project, labels, "roi")[0] == ["im0"]
    result = project.load_annotation("im0")
    np.testing.assert_array_equal(result[35:38], 1)  # the scribble survived
    np.testing.assert_array_equal(result[5:15, 10:20], 2)
    assert result[25, 5] == 0  # still unlabelled
    assert project.image("im0").status == "partial"


def test_wrong_shape_is_a_one_line_problem_and_nothing_is_written(project, tmp_path):
    labels = tmp_path / "bad"
    labels.mkdir()
    cv2.imwrite(str(labels / "im0.png"), np.zeros((10, 10), np.uint8))
    ids, problems = import_annotations(project, labels, "mask")
    assert ids == [] and len(problems) == 1 and "im0.png" in problems[0] and "\n" not in problems[0]
    assert project.annotation_path("im0") is None


def test_unknown_kind_and_missing_folder_are_refused(project, tmp_path):
    with pytest.raises(AnnotationError, match="unknown kind"):
        import_annotations(project, tmp_path, "colours")
    with pytest.raises(AnnotationError, match="not found"):
        import_annotations(project, tmp_path / "none", "mask")


def test_merge_keeps_existing_where_import_is_unlabelled():
    existing = np.array([[1, 2, 0]], np.uint8)
    imported = np.array([[0, 3, 2]], np.uint8)
    np.testing.assert_array_equal(merge(existing, imported), [[1, 3, 2]])


def test_cli_import_labels(project, tmp_path, capsys):
    labels = tmp_path / "masks"
    labels.mkdir()
    cv2.imwrite(str(labels / "im1.png"), np.ones((40, 50), np.uint8))
    assert main(["import-labels", str(project.folder), "--labels", str(labels)]) == 0
    assert "imported labels for 1 image" in capsys.readouterr().err
    assert Project.open(project.folder).image("im1").status == "labelled"
