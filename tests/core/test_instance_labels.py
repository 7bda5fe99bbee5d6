"""The instance layer: Project.instances_path/load_instances/save_instances and the low-level reader/writer."""

import numpy as np
import pytest
import tifffile

from tests.core.test_project import _images
from unet_studio.core.errors import AnnotationError
from unet_studio.core.instance_labels import read_instances, write_instances
from unet_studio.core.project import Project


@pytest.fixture
def project(tmp_path):
    return Project.create(tmp_path / "p", _images(tmp_path / "p" / "raw", n=2))


def test_no_layer_until_saved_then_round_trip_as_uint16(project):
    assert project.load_instances("img0") is None
    path = project.instances_path("img0")
    assert path == project.folder / "instances" / "img0.tif" and not path.exists()
    ids = np.zeros((24, 32), np.int64)
    ids[2:8, 2:8], ids[10:20, 5:9] = 1, 7
    assert project.save_instances("img0", ids) == path
    assert tifffile.imread(path).dtype == np.uint16
    loaded = Project.open(project.folder).load_instances("img0")
    assert loaded.dtype == np.uint32 and loaded.shape == (24, 32)
    np.testing.assert_array_equal(loaded, ids)
    assert project.load_instances("img1") is None
    assert not list(path.parent.glob(".*tmp-*"))


def test_ids_past_65535_are_stored_as_uint32(project):
    ids = np.zeros((24, 32), np.uint32)
    ids[0, 0], ids[5, 5] = 70_000, 4_000_000_000
    project.save_instances("img0", ids)
    assert tifffile.imread(project.instances_path("img0")).dtype == np.uint32
    np.testing.assert_array_equal(project.load_instances("img0"), ids)


def test_all_zero_layer_removes_the_file(project):
    ids = np.zeros((24, 32), np.uint16)
    ids[3, 3] = 1
    project.save_instances("img0", ids)
    assert project.instances_path("img0").exists()
    project.save_instances("img0", np.zeros((24, 32), np.uint16))
    assert not project.instances_path("img0").exists() and project.load_instances("img0") is None


def test_the_layer_leaves_annotation_and_status_alone(project):
    labels = np.ones((24, 32), np.uint8)
    labels[2:8, 2:8] = 2
    project.save_annotation("img0", labels)
    status = project.image("img0").status
    project.save_instances("img0", (labels == 2).astype(np.uint8))
    assert project.image("img0").status == status
    np.testing.assert_array_equal(project.load_annotation("img0"), labels)


@pytest.mark.parametrize("ids, message", [
    (np.ones((10, 10), np.uint8), r"10 x 10 but the image is 24 x 32"),
    (np.ones((24, 32), np.float32), "2-D integer array"),
    (np.full((24, 32), -1, np.int32), "within 0.."),
    (np.ones((2, 24, 32), np.uint8), "2-D integer array"),
])
def test_bad_ids_are_refused_with_one_line_naming_the_file(project, ids, message):
    with pytest.raises(AnnotationError, match=message) as info:
        project.save_instances("img0", ids)
    assert "img0.tif" in str(info.value) and "\n" not in str(info.value)
    assert not project.instances_path("img0").exists()


def test_unreadable_or_misfit_files_name_the_file(tmp_path):
    broken = tmp_path / "a.tif"
    broken.write_bytes(b"not a tiff")
    with pytest.raises(AnnotationError, match="a.tif: cannot read instance layer"):
        read_instances(broken)
    with pytest.raises(AnnotationError, match="not found"):
        read_instances(tmp_path / "missing.tif")
    tifffile.imwrite(tmp_path / "f.tif", np.ones((4, 5), np.float32))
    with pytest.raises(AnnotationError, match="dtype is float32"):
        read_instances(tmp_path / "f.tif")
    tifffile.imwrite(tmp_path / "stack.tif", np.ones((2, 4, 5), np.uint16))
    with pytest.raises(AnnotationError, match="expected one"):
        read_instances(tmp_path / "stack.tif")
    write_instances(tmp_path / "ok.tif", np.ones((4, 5), np.uint8))
    with pytest.raises(AnnotationError, match="4 x 5 but the image is 6 x 5"):
        read_instances(tmp_path / "ok.tif", (6, 5))
    assert read_instances(tmp_path / "ok.tif", (4, 5)).dtype == np.uint32
