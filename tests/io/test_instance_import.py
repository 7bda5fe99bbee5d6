"""Importing instance labels fills the project's instance layer, by the same merge rule as the annotation."""

import cv2
import numpy as np
import pytest
import tifffile

from tests.conftest import make_blobs
from unet_studio.cli import main
from unet_studio.core.project import Project
from unet_studio.export.rois import write_imagej_rois
from unet_studio.io.annotation_import import import_annotations, merge_instances


@pytest.fixture
def project(tmp_path):
    images = tmp_path / "p" / "images"
    images.mkdir(parents=True)
    image, _ = make_blobs((40, 50), seed=0)
    cv2.imwrite(str(images / "im0.png"), image)
    return Project.create(tmp_path / "p", [images / "im0.png"])


def _instances(folder, **objects):
    folder.mkdir(exist_ok=True)
    inst = np.zeros((40, 50), np.uint16)
    for value, (rows, cols) in objects.items():
        inst[rows, cols] = int(value[1:])
    tifffile.imwrite(folder / "im0.tif", inst)
    return inst


def test_instance_import_fills_the_instance_layer_with_renumbered_objects(project, tmp_path):
    inst = _instances(tmp_path / "inst", o3=(slice(2, 8), slice(2, 8)), o900=(slice(10, 20), slice(10, 20)))
    assert project.load_instances("im0") is None
    assert import_annotations(project, tmp_path / "inst", "instances") == (["im0"], [])
    ids = project.load_instances("im0")
    assert ids.dtype == np.uint32 and set(np.unique(ids)) == {0, 1, 2}  # ids 3 and 900 numbered 1, 2
    np.testing.assert_array_equal(ids > 0, inst > 0)
    assert len(np.unique(ids[2:8, 2:8])) == 1 and ids[2, 2] != ids[15, 15]
    np.testing.assert_array_equal(project.load_annotation("im0"), np.where(inst > 0, 2, 1))  # semantic truth


def test_the_cli_import_fills_it_too(project, tmp_path):
    _instances(tmp_path / "inst", o5=(slice(0, 4), slice(0, 4)))
    assert main(["import-labels", str(project.folder), "--labels", str(tmp_path / "inst"),
                 "--kind", "instances", "--class-value", "3"]) == 0
    reopened = Project.open(project.folder)
    assert reopened.load_instances("im0")[0, 0] == 1
    assert reopened.load_annotation("im0")[0, 0] == 3


def test_a_mask_import_takes_only_the_pixels_whose_class_it_changes_out_of_their_objects(project, tmp_path):
    labels = np.zeros((40, 50), np.uint8)
    labels[0:10, 0:20] = 2
    project.save_annotation("im0", labels)
    ids = np.zeros((40, 50), np.uint32)
    ids[0:10, 0:10], ids[0:10, 10:20] = 1, 2
    project.save_instances("im0", ids)
    mask = np.zeros((40, 50), np.uint8)
    mask[0:10, 0:10] = 1  # object 1 keeps class 1 (annotation 2); the rest becomes background
    (tmp_path / "masks").mkdir()
    cv2.imwrite(str(tmp_path / "masks" / "im0.png"), mask)
    assert import_annotations(project, tmp_path / "masks", "mask")[0] == ["im0"]
    after = project.load_instances("im0")
    assert (after[0:10, 0:10] == 1).all() and not after[:, 10:].any()


def test_a_roi_set_gives_one_object_per_roi_and_keeps_objects_outside_it(project, tmp_path):
    labels = np.zeros((40, 50), np.uint8)
    labels[30:35, 30:35] = 2
    project.save_annotation("im0", labels)
    ids = np.zeros((40, 50), np.uint32)
    ids[30:35, 30:35] = 1
    project.save_instances("im0", ids)
    inst = np.zeros((40, 50), np.uint16)
    inst[5:15, 10:20], inst[15:25, 10:20] = 1, 2  # two touching objects
    (tmp_path / "rois").mkdir()
    write_imagej_rois(tmp_path / "rois" / "im0.zip", inst)
    assert import_annotations(project, tmp_path / "rois", "roi")[0] == ["im0"]
    after = project.load_instances("im0")
    assert (after[30:35, 30:35] == 1).all()  # outside the ROIs: kept
    assert after[10, 15] > 1 and after[20, 15] > 1 and after[10, 15] != after[20, 15]
    assert project.load_annotation("im0")[25, 5] == 0  # ROIs label only their areas


def test_merge_keeps_the_ids_the_import_leaves_alone():
    existing = np.zeros((4, 6), np.uint8)
    existing[:, :3] = 2
    ids = np.zeros((4, 6), np.uint32)
    ids[:, :3] = 4
    imported = np.zeros((4, 6), np.uint8)
    imported[:, 3:] = 2  # labels only the right half
    objects = np.zeros((4, 6), np.uint32)
    objects[:, 3:] = 1
    merged = merge_instances(ids, existing, imported, objects)
    assert (merged[:, :3] == 4).all() and (merged[:, 3:] == 5).all()  # numbered after the kept ids
    assert merge_instances(None, existing, imported, None) is None
