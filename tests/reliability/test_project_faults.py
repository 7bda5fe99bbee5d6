"""Project faults: wrong-size annotations, missing images, read-only folders and full disks lose nothing."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from unet_studio.core import atomic
from unet_studio.core.errors import AnnotationError, ProjectError, StudioError
from unet_studio.core.project import Project
from unet_studio.models import ModelConfig, build_model
from unet_studio.models.checkpoint import save_checkpoint

SHAPE = (20, 30)


def make_project(tmp_path: Path, n_images: int = 2) -> Project:
    """A project with ``n_images`` small images inside it and a saved annotation for the first."""
    images = tmp_path / "proj" / "images"
    images.mkdir(parents=True)
    paths = []
    for index in range(n_images):
        paths.append(images / f"im{index}.png")
        cv2.imwrite(str(paths[-1]), np.full(SHAPE, 40 * index, np.uint8))
    project = Project.create(tmp_path / "proj", paths)
    labels = np.zeros(SHAPE, np.uint8)
    labels[2:6, 3:9] = 2
    project.save_annotation("im0", labels)
    return project


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden temp files included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_one_line(error: StudioError, *fragments: str) -> None:
    message = str(error)
    assert "\n" not in message and all(f in message for f in fragments), message


def test_wrong_size_annotation_is_a_clear_error_and_the_file_is_kept(tmp_path):
    project = make_project(tmp_path)
    bad = project.folder / "annotations" / "im1.png"
    cv2.imwrite(str(bad), np.ones((7, 9), np.uint8))
    before = bad.read_bytes()
    with pytest.raises(AnnotationError) as caught:
        project.load_annotation("im1")
    assert_one_line(caught.value, "im1.png", "7 x 9", "20 x 30")
    reopened = Project.open(project.folder)
    with pytest.raises(AnnotationError):
        reopened.load_annotation("im1")
    assert bad.read_bytes() == before


def test_saving_labels_of_the_wrong_size_leaves_the_saved_annotation(tmp_path):
    project = make_project(tmp_path)
    before = snapshot(project.folder)
    with pytest.raises(AnnotationError) as caught:
        project.save_annotation("im0", np.ones((5, 5), np.uint8))
    assert_one_line(caught.value, "im0", "5 x 5", "20 x 30")
    assert snapshot(project.folder) == before


@pytest.mark.parametrize("how", ["deleted", "moved"])
def test_missing_images_are_flagged_and_annotations_kept(tmp_path, how):
    project = make_project(tmp_path)
    saved = project.load_annotation("im0")
    image = project.image_path("im0")
    if how == "deleted":
        image.unlink()
    else:
        shutil.move(image.parent, tmp_path / "elsewhere")
    reopened = Project.open(project.folder)
    missing = [r.id for r in reopened.images if not reopened.image_path(r.id).is_file()]
    assert missing == (["im0"] if how == "deleted" else ["im0", "im1"])
    np.testing.assert_array_equal(reopened.load_annotation("im0"), saved)
    reopened.save_annotation("im0", saved + 1)
    assert (project.folder / "annotations" / "im0.png").is_file()


def _fail_mkstemp(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


def _full_disk_fsync(fd):
    raise OSError(errno.ENOSPC, "No space left on device")


class _FullDiskFile:
    """A file whose writes fail with ENOSPC after a few bytes, like a disk filling up mid-write."""

    def __init__(self, handle):
        self._handle, self._left = handle, 16

    def write(self, data):
        if len(data) > self._left:
            self._handle.write(bytes(data[: self._left]))
            raise OSError(errno.ENOSPC, "No space left on device")
        self._left -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


FAULTS = {
    "read-only (mkstemp)": (lambda mp: mp.setattr(tempfile, "mkstemp", _fail_mkstemp), "permission denied"),
    "disk full (fsync)": (lambda mp: mp.setattr(os, "fsync", _full_disk_fsync), "disk full"),
    "disk full (write)": (lambda mp: mp.setattr(atomic.os, "fdopen",
                                                lambda fd, mode: _FullDiskFile(open(fd, mode))), "disk full"),
}


def _tiny_checkpoint(path: Path) -> None:
    config = ModelConfig(in_channels=1, num_classes=2, depth=2, base_channels=4)
    save_checkpoint(path, build_model(config), config, [{"value": 1, "name": "background", "color": "#000"}],
                    None, {}, {})


WRITES = {
    "annotation": lambda p: p.save_annotation("im0", np.full(SHAPE, 3, np.uint8)),
    "annotation as tiff": lambda p: p.save_annotation("im0", np.full(SHAPE, 300, np.uint16)),
    "status": lambda p: p.set_status("im1", "reviewed"),
    "new class": lambda p: p.add_class("debris"),
    "prediction": lambda p: p.save_prediction("im1", np.ones(SHAPE, np.uint8)),
    "checkpoint": lambda p: _tiny_checkpoint(p.folder / "models" / "kept.pt"),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("write", WRITES)
def test_failed_writes_explain_in_one_line_and_lose_nothing(tmp_path, monkeypatch, fault, write):
    project = make_project(tmp_path)
    _tiny_checkpoint(project.folder / "models" / "kept.pt")
    before, manifest = snapshot(project.folder), project.manifest
    install, reason = FAULTS[fault]
    with monkeypatch.context() as patch:
        install(patch)
        with pytest.raises(StudioError) as caught:
            WRITES[write](project)
    assert_one_line(caught.value, reason)
    assert Path(caught.value.path).parent.is_relative_to(project.folder), str(caught.value)
    assert snapshot(project.folder) == before, "a file changed or a temp file was left behind"
    assert project.manifest == manifest == Project.open(project.folder).manifest


def test_missing_subfolder_in_a_read_only_project_is_a_project_error(tmp_path, monkeypatch):
    project = make_project(tmp_path)
    shutil.rmtree(project.folder / "predictions")

    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(ProjectError) as caught:
        project.save_prediction("im0", np.ones(SHAPE, np.uint8))
    assert_one_line(caught.value, "predictions", "permission denied")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="chmod does not stop root from writing")
def test_chmod_read_only_project_opens_and_refuses_writes(tmp_path):
    project = make_project(tmp_path)
    before = snapshot(project.folder)
    for folder in (project.folder, project.folder / "annotations"):
        folder.chmod(0o555)
    try:
        reopened = Project.open(project.folder)
        with pytest.raises(ProjectError) as caught:
            reopened.save_annotation("im0", np.full(SHAPE, 3, np.uint8))
        assert_one_line(caught.value, "im0", "permission denied")
    finally:
        for folder in (project.folder, project.folder / "annotations"):
            folder.chmod(0o755)
    assert snapshot(project.folder) == before


def test_after_a_cut_off_format_switch_the_newer_annotation_wins(tmp_path):
    project = make_project(tmp_path)
    old_png = project.folder / "annotations" / "im0.png"
    labels = np.full(SHAPE, 300, np.uint16)
    project.save_annotation("im0", labels)
    kept_png = tmp_path / "old.png"
    cv2.imwrite(str(kept_png), np.ones(SHAPE, np.uint8))
    shutil.copyfile(kept_png, old_png)  # as if the save had stopped before removing the PNG
    tif = project.folder / "annotations" / "im0.tif"
    os.utime(old_png, ns=(tif.stat().st_mtime_ns - 10**9,) * 2)
    np.testing.assert_array_equal(Project.open(project.folder).load_annotation("im0"), labels)
