"""2-D training on every labelled plane of a stack: the snapshot's items, live training's watcher, a run."""

import numpy as np
import tifffile

from tests.conftest import make_blobs
from tests.training.helpers import TINY_MODEL, tiny_config
from unet_studio.core.annotations import mask_to_annotation, write_annotation
from unet_studio.core.normalize import normalize_for_network
from unet_studio.core.project import Project
from unet_studio.training.api import iter_train_project, load_training_items
from unet_studio.training.events import TrainingFinished
from unet_studio.training.live_labels import LiveLabels
from unet_studio.training.project_source import snapshot_items, snapshot_project

PLANES = 4
NORMALIZATION = {"low": 0.5, "high": 99.5}


def _stack(tmp_path):
    """A project with one stack of blob planes (each plane its own blobs) and their true masks."""
    pairs = [make_blobs((48, 48), n=4, radius=5, seed=p) for p in range(PLANES)]
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.stack([image for image, _ in pairs]), photometric="minisblack")
    return Project.create(tmp_path / "project", [path]), [mask for _, mask in pairs], path


def test_each_labelled_plane_is_one_item_with_its_own_pixels(tmp_path):
    project, masks, path = _stack(tmp_path)
    for plane in (1, 3):
        project.save_annotation("stack", mask_to_annotation(masks[plane]), plane=plane)
    by_split, problems, used = snapshot_items(snapshot_project(project), NORMALIZATION)
    items = by_split["train"]
    assert problems == [] and used == [path] and len(items) == 2
    assert [item.name.rsplit(" ", 1)[-1] for item in items] == ["1]", "3]"]
    for item, plane in zip(items, (1, 3)):
        np.testing.assert_array_equal(item.target, masks[plane].astype(np.int64))
        pixels = tifffile.imread(path)[plane][:, :, None]
        np.testing.assert_allclose(item.image, normalize_for_network(pixels, 0.5, 99.5))


def test_an_old_shared_annotation_trains_plane_0_only(tmp_path):
    project, masks, _ = _stack(tmp_path)
    write_annotation(project.folder / "annotations" / "stack", mask_to_annotation(masks[0]))
    items = snapshot_items(snapshot_project(Project.open(project.folder)), NORMALIZATION)[0]["train"]
    assert len(items) == 1 and items[0].name.endswith("[plane 0]")


def test_live_training_sees_a_new_plane_labelled(tmp_path):
    project, masks, _ = _stack(tmp_path)
    live = LiveLabels(snapshot_project(project), NORMALIZATION)
    assert live.refresh() is None  # nothing labelled yet
    project.save_annotation("stack", mask_to_annotation(masks[2]), plane=2)
    first = live.refresh()
    assert first is not None and len(first.train) == 1 and first.changed == ("stack",)
    project.save_annotation("stack", mask_to_annotation(masks[0]), plane=0)
    second = live.refresh()
    assert len(second.train) == 2 and [s["name"] for s in second.sources] == ["stack.tif"]
    project.save_annotation("stack", np.zeros((48, 48), np.uint8), plane=2)
    assert len(live.refresh().train) == 1  # erasing a plane drops its item


def test_a_project_run_trains_on_the_planes(tmp_path):
    project, masks, _ = _stack(tmp_path)
    for plane in range(PLANES):
        project.save_annotation("stack", mask_to_annotation(masks[plane]), plane=plane)
    events = list(iter_train_project(project, model_config=TINY_MODEL, train_config=tiny_config(epochs=1)))
    finished = [e for e in events if isinstance(e, TrainingFinished)]
    assert finished and finished[0].checkpoint_path is not None
    assert any("held out 1 of the labelled training images" in getattr(e, "message", "") for e in events)


def test_folder_training_reads_a_multi_page_mask_plane_by_plane(tmp_path):
    _, masks, path = _stack(tmp_path)
    labels = tmp_path / "labels"
    labels.mkdir()
    tifffile.imwrite(labels / "stack.tif", np.stack(masks).astype(np.uint8), photometric="minisblack")
    items, problems = load_training_items([path], [labels / "stack.tif"], "mask")
    assert problems == [] and len(items) == PLANES
    for plane, item in enumerate(items):
        np.testing.assert_array_equal(item.target, masks[plane].astype(np.int64))
    annotation = np.stack([mask_to_annotation(m) for m in masks])
    annotation[1] = 0  # an unlabelled plane of an annotation trains nothing
    tifffile.imwrite(labels / "stack.tif", annotation, photometric="minisblack")
    items, _ = load_training_items([path], [labels / "stack.tif"], "annotation")
    assert [item.name.rsplit(" ", 1)[-1] for item in items] == ["0]", "2]", "3]"]
