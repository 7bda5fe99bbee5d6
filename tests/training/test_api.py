"""Training entry points: folders of images + labels, and projects."""

import threading

import cv2
import numpy as np
import pytest

from tests.conftest import make_blobs
from tests.training.helpers import tiny_config
from unet_studio.core.errors import TrainingError
from unet_studio.core.project import Project
from unet_studio.data.sampling import TrainItem
from unet_studio.models.config import ModelConfig
from unet_studio.training.api import iter_train_folders, iter_train_project, load_training_items
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.training.events import EpochEnded, Log, TrainingFinished

TINY = ModelConfig(depth=2, base_channels=4)


def _write_pairs(folder, count=3, size=48, as_annotation=True, channels=1):
    images, labels = folder / "images", folder / "labels"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        image, mask = make_blobs((size, size), n=4, radius=5, seed=index)
        if channels == 3:
            image = np.dstack([image] * 3)
        cv2.imwrite(str(images / f"img{index}.png"), image)
        cv2.imwrite(str(labels / f"img{index}.png"), mask + 1 if as_annotation else mask * 255)
    return images, labels


def test_load_items_pairs_by_stem_and_reports_bad_files(tmp_path):
    images, labels = _write_pairs(tmp_path, count=2, as_annotation=False)
    (images / "broken.png").write_bytes(b"\x89PNG not really")
    cv2.imwrite(str(labels / "broken.png"), np.zeros((48, 48), np.uint8))
    cv2.imwrite(str(images / "unpaired.png"), np.zeros((8, 8), np.uint8))
    items, problems = load_training_items(sorted(images.iterdir()), sorted(labels.iterdir()), "mask")
    assert [i.name.rsplit("/", 1)[-1] for i in items] == ["img0.png", "img1.png"]
    assert set(np.unique(items[0].target)) == {0, 1}, "a 0/255 mask reads as background/object"
    assert items[0].image.dtype == np.float32 and items[0].image.shape == (1, 48, 48)
    assert len(problems) == 1 and "broken.png" in problems[0] and "\n" not in problems[0]


def test_annotation_labels_become_targets_with_unlabelled_ignored(tmp_path):
    images, labels = _write_pairs(tmp_path, count=1)
    sparse = cv2.imread(str(labels / "img0.png"), cv2.IMREAD_UNCHANGED)
    sparse[::2] = 0
    cv2.imwrite(str(labels / "img0.png"), sparse)
    items, _ = load_training_items([images / "img0.png"], [labels / "img0.png"])
    assert items[0].target.min() == -1 and set(np.unique(items[0].target)) == {-1, 0, 1}


def test_train_folders_skips_a_bad_image_and_trains_on_the_rest(tmp_path):
    images, labels = _write_pairs(tmp_path, count=3)
    (images / "bad.png").write_bytes(b"garbage")
    cv2.imwrite(str(labels / "bad.png"), np.ones((48, 48), np.uint8))
    events = list(iter_train_folders(images, labels, tmp_path / "m.pt", TINY, tiny_config(epochs=1)))
    logs = [e.message for e in events if isinstance(e, Log)]
    assert any(m.startswith("skipped ") and "bad.png" in m for m in logs)
    assert "2 image(s) for training, 1 for validation" in logs
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.interrupted
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert [i["name"] for i in checkpoint.history["images"]] == ["img0.png", "img1.png", "img2.png"]
    assert len(checkpoint.history["validation_images"]) == 1
    assert checkpoint.history["validation_images"][0] in {"img0.png", "img1.png", "img2.png"}
    assert len(checkpoint.history["images"][0]["sha256"]) == 64
    assert checkpoint.model_config.in_channels == 1 and checkpoint.model_config.num_classes == 2


def test_train_folders_infers_rgb_channels(tmp_path):
    images, labels = _write_pairs(tmp_path, count=1, channels=3)
    events = list(iter_train_folders(images, labels, tmp_path / "m.pt", TINY, tiny_config(max_steps=2, epochs=1)))
    assert load_checkpoint(events[-1].checkpoint_path).model_config.in_channels == 3


def test_train_folders_errors(tmp_path):
    images, labels = _write_pairs(tmp_path, count=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TrainingError, match="no label file has the name of an image"):
        next(iter_train_folders(images, empty, tmp_path / "m.pt", TINY, tiny_config()))
    cv2.imwrite(str(labels / "img0.png"), np.ones((48, 48), np.uint8))
    with pytest.raises(TrainingError, match="only background is labelled"):
        list(iter_train_folders(images, labels, tmp_path / "m.pt", TINY, tiny_config()))
    cv2.imwrite(str(labels / "img0.png"), np.zeros((48, 48), np.uint8))
    with pytest.raises(TrainingError, match="no labelled pixels"):
        list(iter_train_folders(images, labels, tmp_path / "m.pt", TINY, tiny_config()))
    rgb_images, _ = _write_pairs(tmp_path / "rgb", count=1, channels=3)
    cv2.imwrite(str(labels / "img0.png"), make_blobs((48, 48), seed=0)[1] + 1)
    (rgb_images / "img0.png").rename(images / "img1.png")
    cv2.imwrite(str(labels / "img1.png"), make_blobs((48, 48), seed=0)[1] + 1)
    with pytest.raises(TrainingError, match="differ in channel count"):
        list(iter_train_folders(images, labels, tmp_path / "m.pt", TINY, tiny_config()))


def _project(tmp_path, count=3):
    images, labels = _write_pairs(tmp_path / "source", count=count)
    project = Project.create(tmp_path / "project", sorted(images.iterdir()))
    for record in project.images:
        project.save_annotation(record.id, cv2.imread(str(labels / f"{record.id}.png"), cv2.IMREAD_UNCHANGED))
    return project


def test_train_project_splits_off_validation_and_registers_the_model(tmp_path):
    project = _project(tmp_path, count=3)
    events = list(iter_train_project(project, model_config=TINY, train_config=tiny_config(epochs=1)))
    logs = [e.message for e in events if isinstance(e, Log)]
    assert any("held out 1 of the labelled training images" in m for m in logs)
    assert [e for e in events if isinstance(e, EpochEnded)][0].val_metrics
    finished = events[-1]
    reopened = Project.open(project.folder)
    assert reopened.active_model == reopened.models[0].id
    assert reopened.model_path(reopened.active_model) == finished.checkpoint_path
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert checkpoint.model_config.num_classes == len(reopened.classes)
    assert [c["name"] for c in checkpoint.classes] == [c.name for c in reopened.classes]
    assert reopened.models[0].val_dice == pytest.approx(checkpoint.metrics["mean_dice"])


def test_train_project_uses_marked_validation_images_and_stops(tmp_path):
    project = _project(tmp_path, count=2)
    project.set_split(project.images[1].id, "val")
    stop = threading.Event()
    stop.set()
    events = list(iter_train_project(project, model_config=TINY, train_config=tiny_config(), stop=stop))
    assert not any(isinstance(e, Log) and "held out" in e.message for e in events)
    assert events[-1].interrupted and events[-1].reason == "stopped by the user"
    assert load_checkpoint(events[-1].checkpoint_path).interrupted


def test_train_project_without_labels_is_an_error(tmp_path):
    images, _ = _write_pairs(tmp_path / "source", count=1)
    project = Project.create(tmp_path / "project", sorted(images.iterdir()))
    with pytest.raises(TrainingError, match="no labelled training image"):
        next(iter_train_project(project, model_config=TINY, train_config=tiny_config()))


def test_train_folders_fine_tunes_from_a_checkpoint_file(tmp_path):
    images, labels = _write_pairs(tmp_path, count=2)
    first = list(iter_train_folders(images, labels, tmp_path / "a.pt", TINY, tiny_config(max_steps=2)))
    events = list(iter_train_folders(images, labels, tmp_path / "b.pt", None, tiny_config(max_steps=2),
                                     init=first[-1].checkpoint_path))
    assert any(isinstance(e, Log) and e.message == "fine-tuning from a.pt" for e in events)
    tuned = load_checkpoint(events[-1].checkpoint_path)
    assert tuned.model_config == load_checkpoint(tmp_path / "a.pt").model_config
    assert tuned.normalization == {"method": "percentile", "low": 0.5, "high": 99.5}


def test_scribbled_images_all_train_without_a_held_out_image():
    from unet_studio.training.api import _split_off
    from unet_studio.training.validation import is_sparse

    dense = [TrainItem(np.zeros((1, 8, 8), np.float32), np.zeros((8, 8), np.int64), f"d{i}") for i in range(5)]
    scribbled = []
    for i in range(5):
        target = np.full((8, 8), -1, np.int64)
        target[0, :4], target[7, :4] = 0, 1
        scribbled.append(TrainItem(np.zeros((1, 8, 8), np.float32), target, f"s{i}"))
    assert not is_sparse(dense) and is_sparse(scribbled)
    assert [len(part) for part in _split_off(dense, 0.2, 0)] == [4, 1]
    assert [len(part) for part in _split_off(scribbled, 0.2, 0)] == [5, 0]


def test_the_planes_of_a_stack_are_held_out_together():
    from unet_studio.training.api import PLANE_TAG, _split_off

    def item(name: str) -> TrainItem:
        return TrainItem(np.zeros((1, 8, 8), np.float32), np.zeros((8, 8), np.int64), name)

    def files(part):
        return {i.name.split(PLANE_TAG)[0] for i in part}

    flat = [item(f"/d/flat{i}.png") for i in range(4)]
    for seed in range(6):
        stacks = [item(f"/d/stack{s}.tif{PLANE_TAG}{p}]") for s in range(3) for p in range(5)]
        train, val = _split_off(stacks + flat, 0.2, seed)
        assert val and train and not files(train) & files(val)  # no stack on both sides
        assert len(train) + len(val) == 19
    one = [item(f"/d/only.tif{PLANE_TAG}{p}]") for p in range(10)]
    train, val = _split_off(one, 0.2, 0)
    assert [i.name for i in val] == [f"/d/only.tif{PLANE_TAG}8]", f"/d/only.tif{PLANE_TAG}9]"]  # the last planes
    assert len(train) == 8
    plain = [item(f"/d/p{i}.png") for i in range(10)]
    held = {i.name for i in _split_off(plain, 0.3, 4)[1]}
    expected = {plain[i].name for i in np.random.default_rng(4).permutation(10)[:3]}
    assert held == expected  # flat images are drawn as before
