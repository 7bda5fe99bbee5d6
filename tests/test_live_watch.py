"""ProjectWatcher (training/live_watch.py): a changed manifest on disk becomes a new snapshot for the run."""

from __future__ import annotations

import cv2

from tests.conftest import make_blobs
from tests.live_project import make_project
from unet_studio.training.live import LiveControl
from unet_studio.training.live_watch import ProjectWatcher, current_model_path
from unet_studio.training.project_source import snapshot_project


def test_a_new_image_and_a_split_change_reach_the_control_and_nothing_else_does(tmp_path):
    project = make_project(tmp_path, count=1)
    control = LiveControl()
    watcher = ProjectWatcher(project.folder, control, snapshot_project(project))
    assert watcher.check() is False and control.take_snapshot() is None  # nothing changed on disk
    extra = tmp_path / "source" / "late.png"
    cv2.imwrite(str(extra), make_blobs((48, 48), seed=9)[0])
    project.add_images([extra])
    project.save()
    assert watcher.check() is True
    snapshot = control.take_snapshot()
    assert [f.image_path.name for f in snapshot.unlabelled] == ["late.png"]
    assert control.take_snapshot() is None
    project.set_split("img0", "val")
    assert watcher.check() is True
    assert [f.split for f in control.take_snapshot().images] == ["val"]


def test_a_broken_manifest_is_one_problem_line_and_the_last_snapshot_stays(tmp_path):
    project = make_project(tmp_path, count=1)
    control = LiveControl()
    watcher = ProjectWatcher(project.folder, control, snapshot_project(project))
    project.manifest_path.write_text("{not json", encoding="utf-8")
    assert watcher.check() is False and control.take_snapshot() is None
    assert watcher.problem.startswith(str(project.manifest_path))
    project.save()
    watcher.check()
    assert watcher.problem is None


def test_current_model_path_sits_beside_the_model(tmp_path):
    assert current_model_path(tmp_path / "model-1.pt") == tmp_path / "model-1.current.pt"
