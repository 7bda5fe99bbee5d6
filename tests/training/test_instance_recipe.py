"""Training from instance labels: the touching-border recipe is chosen, recorded and used; the plain path is not.
Post-processing is chosen on validation images (tile functions stand in for networks there)."""

import threading

import cv2
import numpy as np
import pytest
import tifffile
import torch

from tests.inference.test_border_postprocess import missed_border, touching_discs
from tests.training.helpers import tiny_config
from unet_studio.core.errors import TrainingError
from unet_studio.core.instance_targets import TOUCHING_BORDER, TargetRecipe
from unet_studio.core.project import Project
from unet_studio.data.sampling import TrainItem
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.predictor import Predictor
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.training.api import iter_train_folders, iter_train_project
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import Log, TrainingFinished
from unet_studio.inference.postprocess import SHAPE_HEIGHT
from unet_studio.training.postprocess_choice import TTA_GAIN, choose_postprocess, describe_choice

TINY = ModelConfig(in_channels=1, num_classes=2, depth=2, base_channels=4)


def _as_items(cases):
    """TrainItems whose 'image' is the probabilities themselves: with an identity tile function the chooser
    sees exactly these network outputs."""
    return [TrainItem(probs.astype(np.float32), (ids > 0).astype(np.int64), name=f"v{i}", instances=ids)
            for i, (ids, probs) in enumerate(cases)]


def identity(tile_input):
    return tile_input


def _choose(cases, function=identity):
    return choose_postprocess(function, _as_items(cases), tile=64, overlap=8, device="cpu", precision="fp32")


def test_seed_level_is_chosen_where_the_border_is_unsure():
    ids, probs = touching_discs()
    unsure = probs[2] > 0.5
    probs[:, unsure] = np.array([0.05, 0.6, 0.35])[:, None]  # seeds at interior 0.3 or 0.5 run through it
    choice = _choose([(ids, probs)])
    assert choice.seed_level == 0.7 and choice.val_map > 0.9 and choice.n_images == 1


def test_threshold_is_chosen_for_faint_objects_and_min_size_for_specks():
    ids, probs = touching_discs(gap=40)
    faint = probs.copy()
    faint[0][ids > 0] = 0.55  # objects at p(object) 0.45: background is the argmax, only the 0.4 threshold finds them
    faint[1][ids > 0], faint[2][ids > 0] = 0.45, 0.0
    assert _choose([(ids, faint)]).threshold == 0.4
    assert _choose([(ids, probs)]).threshold is None  # confident outputs: the argmax stays
    specks = probs.copy()
    for row in (3, 40):
        specks[:, row:row + 3, 2:8] = np.array([0.05, 0.9, 0.05])[:, None, None]  # 18-pixel false objects
    choice = _choose([(ids, specks)])
    assert choice.min_size == 20 and choice.val_map == 1.0


def test_flips_stay_off_when_they_add_nothing_and_come_on_when_they_pay():
    ids, probs = touching_discs(gap=40)
    assert not _choose([(ids, probs)]).tta

    def lopsided(tile_input):
        """Background made likelier towards the right: objects there vanish unless the flips average it out."""
        out = tile_input.copy()
        out[0] += 2.5 * np.linspace(0.0, 1.0, out.shape[-1])[None, :]
        return out / out.sum(axis=0, keepdims=True)

    choice = _choose([(ids, probs)], lopsided)
    assert choice.tta and choice.seconds_tta > 0 and choice.val_map > 0.9
    assert TTA_GAIN > 0


def test_the_split_by_shape_is_kept_where_borders_were_missed_and_dropped_for_objects_with_a_neck():
    ids, probs = touching_discs(gap=18)
    missed = missed_border(probs)
    choice = _choose([(ids, missed)])
    assert choice.shape_height == SHAPE_HEIGHT and choice.val_map > 0.9
    assert "split by shape at 2 px" in describe_choice(choice.to_dict())
    dumbbell = (ids > 0).astype(np.uint16)  # the same outline, labelled as one object
    choice = _choose([(dumbbell, missed)])
    assert choice.shape_height is None and choice.val_map > 0.9
    assert "no split by shape" in describe_choice(choice.to_dict())


def test_nothing_is_chosen_without_instance_labels():
    ids, probs = touching_discs()
    items = [TrainItem(probs, (ids > 0).astype(np.int64))]
    assert choose_postprocess(identity, items, tile=64, overlap=8, device="cpu", precision="fp32") is None


def _touching_pairs(folder, count=4):
    images, labels = folder / "images", folder / "labels"
    images.mkdir(parents=True)
    labels.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        ids, _ = touching_discs(size=(48, 64), radius=9, gap=int(rng.integers(12, 16)))
        image = (40 + 160 * (ids > 0) + rng.normal(0, 10, ids.shape)).clip(0, 255).astype(np.uint8)
        cv2.imwrite(str(images / f"n{index}.png"), image)
        tifffile.imwrite(labels / f"n{index}.tif", ids)
    return images, labels


def _run(events):
    logs, finished = [], None
    for event in events:
        if isinstance(event, Log):
            logs.append(event.message)
        if isinstance(event, TrainingFinished):
            finished = event
    return logs, finished


def test_instance_label_folders_train_semantic_when_asked(tmp_path):
    images, labels = _touching_pairs(tmp_path)
    config = tiny_config(val_fraction=0.25, instance_target="semantic")
    logs, finished = _run(iter_train_folders(images, labels, tmp_path / "m.pt", TINY, config,
                                             labels_format="instances", stop=threading.Event()))
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert not checkpoint.recipe.has_border and checkpoint.model_config.num_classes == 2
    assert "seed_level" not in checkpoint.postprocess and any("watershed instances" in line for line in logs)


def test_instance_label_folders_train_the_border_recipe_by_default_and_record_it(tmp_path):
    images, labels = _touching_pairs(tmp_path)
    config = tiny_config(val_fraction=0.25)  # instance_target: touching-border by default
    logs, finished = _run(iter_train_folders(images, labels, tmp_path / "m.pt", TINY, config,
                                             labels_format="instances", stop=threading.Event()))
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert checkpoint.recipe.has_border and checkpoint.model_config.num_classes == 3
    assert [c["name"] for c in checkpoint.classes] == ["background", "class 1"]
    assert set(checkpoint.postprocess) >= {"threshold", "seed_level", "min_size", "tta", "val_map"}
    assert checkpoint.threshold == checkpoint.postprocess["threshold"]
    assert any("touching border" in line for line in logs) and any("post-processing chosen" in line for line in logs)
    predictor = Predictor.from_checkpoint(finished.checkpoint_path, device="cpu")
    assert predictor.config.tta == checkpoint.postprocess["tta"] and predictor.n_classes == 2
    result = predictor.predict(cv2.imread(str(images / "n0.png"), cv2.IMREAD_GRAYSCALE), instances=True)
    assert result.probabilities.shape == (2, 48, 64) and result.instances.shape == (48, 64)


def _project(tmp_path, with_layer):
    images, labels = _touching_pairs(tmp_path / "raw")
    project = Project.create(tmp_path / "p", sorted(images.iterdir()))
    for record in project.images:
        ids = tifffile.imread(labels / f"{record.id}.tif")
        project.save_annotation(record.id, (ids > 0).astype(np.uint8) + 1)
        if with_layer:
            project.save_instances(record.id, ids)
    project.set_split(project.images[-1].id, "val")
    return project


@pytest.mark.parametrize("with_layer, target", [(True, "touching-border"), (False, "touching-border"),
                                                 (True, "semantic")])
def test_projects_use_their_instance_layers_only_when_asked_and_present(tmp_path, with_layer, target):
    project = _project(tmp_path, with_layer)
    config = tiny_config(instance_target=target)
    _, finished = _run(iter_train_project(project, tmp_path / "m.pt", TINY, config, stop=threading.Event(),
                                          register=False))
    checkpoint = load_checkpoint(finished.checkpoint_path)
    border = with_layer and target == "touching-border"
    assert checkpoint.recipe.has_border == border
    assert checkpoint.model_config.num_classes == (3 if border else 2)
    assert ("seed_level" in checkpoint.postprocess) == border
    assert len(checkpoint.classes) == 2 and ("dice/touching border" in checkpoint.metrics) == border


def test_an_unknown_instance_target_is_refused_in_one_line():
    with pytest.raises(TrainingError, match="instance target 'borders' unknown"):
        TrainConfig(instance_target="borders")


class BrightIsObject(torch.nn.Module):
    """A stand-in touching-border network: object probability follows the normalised image, no border."""

    def __init__(self):
        super().__init__()
        self.first = torch.nn.Conv2d(1, 1, 1)

    def forward(self, x):
        p = 0.05 + 0.9 * x.clamp(0, 1)
        return torch.cat([torch.log(1 - p), torch.log(p), torch.full_like(p, -9.0)], dim=1)


@pytest.mark.parametrize("postprocess, override, objects", [
    ({}, None, 2),  # nothing chosen: the split by shape is on
    ({"seed_level": 0.5, "min_size": 0, "threshold": None, "tta": False}, None, 1),  # chosen before it existed
    ({"seed_level": 0.5, "min_size": 0, "threshold": None, "tta": False, "shape_height": 2.0}, None, 2),
    ({"seed_level": 0.5, "min_size": 0, "threshold": None, "tta": False, "shape_height": 2.0}, 0, 1),  # off
])
def test_the_predictor_splits_by_shape_as_its_checkpoint_chose(postprocess, override, objects):
    ids, _ = touching_discs(gap=18)
    predictor = Predictor(BrightIsObject(), [{"value": 1, "name": "background"}, {"value": 2, "name": "nucleus"}],
                          {"method": "percentile", "low": 0.5, "high": 99.5}, device="cpu",
                          config=PredictConfig(64, 16, precision="fp32"), recipe=TargetRecipe(TOUCHING_BORDER),
                          postprocess=postprocess)
    result = predictor.predict((ids > 0).astype(np.uint8) * 200, instances=True, min_size=0, shape_height=override)
    assert result.instances.max() == objects
