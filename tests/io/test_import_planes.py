"""import-labels on stacks: a multi-page label TIFF gives each plane its own labels."""

import numpy as np
import tifffile

from unet_studio.cli import main
from unet_studio.core.project import Project
from unet_studio.io.annotation_import import import_annotations

PLANES, H, W = 3, 20, 24


def _project(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    tifffile.imwrite(images / "stack.tif", np.zeros((PLANES, H, W), np.uint8), photometric="minisblack")
    return Project.create(tmp_path / "project", [images / "stack.tif"])


def _masks():
    masks = np.zeros((PLANES, H, W), np.uint8)
    for plane in range(PLANES):
        masks[plane, 2 + 4 * plane:6 + 4 * plane, 3:9] = 1
    return masks


def test_a_multi_page_mask_imports_plane_by_plane(tmp_path):
    project, masks = _project(tmp_path), _masks()
    labels = tmp_path / "labels"
    labels.mkdir()
    tifffile.imwrite(labels / "stack.tif", masks, photometric="minisblack")
    assert main(["import-labels", str(project.folder), "--labels", str(labels)]) == 0
    project = Project.open(project.folder)
    for plane in range(PLANES):
        np.testing.assert_array_equal(project.load_annotation("stack", plane), masks[plane] + 1)
    assert project.image("stack").labelled_planes == PLANES


def test_multi_page_instances_fill_each_planes_object_layer(tmp_path):
    project, masks = _project(tmp_path), _masks()
    labels = tmp_path / "labels"
    labels.mkdir()
    tifffile.imwrite(labels / "stack.tif", masks.astype(np.uint16) * 7, photometric="minisblack")
    imported, problems = import_annotations(project, labels, "instances")
    assert imported == ["stack"] and problems == []
    for plane in range(PLANES):
        ids = project.load_instances("stack", plane)
        assert ids is not None and set(np.unique(ids)) == {0, 1}
        assert ((ids > 0) == (masks[plane] > 0)).all()


def test_a_one_page_mask_labels_plane_0_and_a_wrong_count_is_one_line(tmp_path):
    project, masks = _project(tmp_path), _masks()
    labels = tmp_path / "labels"
    labels.mkdir()
    tifffile.imwrite(labels / "stack.tif", masks[0])
    assert import_annotations(project, labels, "mask") == (["stack"], [])
    np.testing.assert_array_equal(project.load_annotation("stack", 0), masks[0] + 1)
    assert not project.load_annotation("stack", 1).any()
    tifffile.imwrite(labels / "stack.tif", masks[:2], photometric="minisblack")
    imported, problems = import_annotations(project, labels, "mask")
    assert imported == [] and len(problems) == 1
    assert "stack.tif: label file has 2 planes but the image has 3" in problems[0]
