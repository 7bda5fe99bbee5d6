"""Per-plane labels of stacks: the multi-page store, the project's plane API, old projects' shared labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from unet_studio.core.annotations import read_annotation, write_annotation
from unet_studio.core.errors import AnnotationError
from unet_studio.core.images import image_info
from unet_studio.core.plane_labels import read_label_plane, read_label_planes, stack_status, write_label_plane
from unet_studio.core.project import Project

PLANES, H, W = 5, 24, 32


def _stack_project(tmp_path, planes=PLANES):
    rng = np.random.default_rng(0)
    image = tmp_path / "stack.tif"
    tifffile.imwrite(image, rng.integers(0, 255, (planes, H, W), dtype=np.uint8), photometric="minisblack")
    return Project.create(tmp_path / "project", [image])


def test_planes_round_trip_and_only_the_plane_saved_changes(tmp_path):
    project = _stack_project(tmp_path)
    first, third = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8)
    first[2:6, 3:9], third[10:20, :] = 2, 1
    project.save_annotation("stack", first, plane=0)
    project.save_annotation("stack", third, plane=3)
    path = project.annotation_path("stack")
    assert path.name == "stack.tif" and image_info(path).n_planes == PLANES
    np.testing.assert_array_equal(project.load_annotation("stack", 0), first)
    np.testing.assert_array_equal(project.load_annotation("stack", 3), third)
    assert not project.load_annotation("stack", 1).any()
    before = project.load_label_planes("stack")
    third[0, 0] = 2
    project.save_annotation("stack", third, plane=3)
    after = project.load_label_planes("stack")
    assert [i for i in range(PLANES) if not np.array_equal(before[i], after[i])] == [3]
    assert sorted(p.name for p in path.parent.iterdir()) == ["stack.tif"]  # atomic: no temp file left


def test_stack_status_counts_labelled_planes_in_the_manifest(tmp_path):
    project = _stack_project(tmp_path)
    labels = np.ones((H, W), np.uint8)
    project.save_annotation("stack", labels, plane=1)
    record = project.image("stack")
    assert (record.status, record.labelled_planes, record.planes) == ("partial", 1, PLANES)
    for plane in range(PLANES):
        project.save_annotation("stack", labels, plane=plane)
    assert Project.open(project.folder).image("stack").status == "labelled"
    assert stack_status(np.zeros((3, 4, 4), np.uint8)) == ("unlabelled", 0)


def test_an_old_projects_shared_annotation_of_a_stack_is_plane_0s(tmp_path):
    """Before per-plane labels a stack had one 2-D annotation (the app showed and trained plane 0)."""
    project = _stack_project(tmp_path)
    manifest = json.loads(project.manifest_path.read_text())
    for image in manifest["images"]:
        image.pop("planes", None)  # an old manifest knows no planes
    project.manifest_path.write_text(json.dumps(manifest))
    shared = np.zeros((H, W), np.uint8)
    shared[4:8, 4:8] = 2
    write_annotation(project.folder / "annotations" / "stack", shared)
    old = Project.open(project.folder)
    assert old.n_planes("stack") == PLANES
    np.testing.assert_array_equal(old.load_annotation("stack", 0), shared)
    assert not old.load_annotation("stack", 2).any()
    edit = np.ones((H, W), np.uint8)
    old.save_annotation("stack", edit, plane=2)
    assert old.annotation_path("stack").name == "stack.tif"
    assert not (old.folder / "annotations" / "stack.png").exists()
    np.testing.assert_array_equal(old.load_annotation("stack", 0), shared)
    np.testing.assert_array_equal(old.load_annotation("stack", 2), edit)


def test_a_stack_file_with_the_wrong_number_of_planes_is_one_line(tmp_path):
    stem = tmp_path / "labels"
    write_label_plane(stem, 1, np.ones((4, 4), np.uint8), 3)
    with pytest.raises(AnnotationError, match="3 planes but the image has 4"):
        read_label_planes(stem.with_suffix(".tif"), 4, (4, 4))
    with pytest.raises(AnnotationError, match="channel"):
        read_annotation(stem.with_suffix(".tif"))


def test_removing_a_class_remaps_every_plane(tmp_path):
    project = _stack_project(tmp_path)
    project.add_class("second")
    labels = np.full((H, W), 3, np.uint8)
    labels[0] = 2
    project.save_annotation("stack", labels, plane=4)
    project.save_prediction("stack", np.full((H, W), 2, np.uint8), plane=1)
    assert project.load_prediction("stack", 2) is None
    project.remove_class(2)
    remapped = project.load_annotation("stack", 4)
    assert set(np.unique(remapped)) == {0, 2} and not remapped[0].any()
    assert set(np.unique(project.load_prediction("stack", 1))) == {1}


def test_single_plane_images_keep_their_png(tmp_path):
    import cv2

    image = tmp_path / "flat.png"
    cv2.imwrite(str(image), np.zeros((H, W), np.uint8))
    project = Project.create(tmp_path / "project", [image])
    project.save_annotation("flat", np.ones((H, W), np.uint8))
    assert project.annotation_path("flat").name == "flat.png" and project.image("flat").planes is None
    assert "planes" not in json.loads(project.manifest_path.read_text())["images"][0]


def test_a_stack_file_reads_in_one_go_as_plane_by_plane_and_other_layouts_still_read(tmp_path):
    volume = np.zeros((3, 16, 20), np.uint16)
    volume[1, 2:5, 3:9], volume[2, 8:, :4] = 300, 2
    tifffile.imwrite(tmp_path / "ours.tif", volume, photometric="minisblack", metadata={"axes": "QYX"})
    whole = read_label_planes(tmp_path / "ours.tif", 3, (16, 20))
    singly = np.stack([read_label_plane(tmp_path / "ours.tif", p, 3, (16, 20)) for p in range(3)])
    np.testing.assert_array_equal(whole, volume)
    np.testing.assert_array_equal(singly, volume)
    pages = tmp_path / "pages.tif"  # one page written at a time: another layout of the same planes
    with tifffile.TiffWriter(pages) as writer:
        for plane in volume:
            writer.write(plane, photometric="minisblack", metadata=None)
    np.testing.assert_array_equal(read_label_planes(pages, 3, (16, 20)), volume)
