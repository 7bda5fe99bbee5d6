"""3-D training: losses on 5-D logits, the VolumeTrainer on sparse planes, training from volume folders."""

import itertools
import threading

import numpy as np
import pytest
import tifffile
import torch

from unet_studio.core.errors import TrainingError
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.volume import VolumeItem
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import StepEnded, TrainingFinished
from unet_studio.training.losses import combined_loss
from unet_studio.training.volume_api import auto_xy_pool_levels, iter_train_volumes
from unet_studio.training.volume_trainer import VolumeTrainer

TINY = ModelConfig(arch="unet3d", depth=2, base_channels=4, xy_pool_levels=1)


def blob_volume(depth=8, size=32, seed=0):
    """Bright balls on a dark background with noise, and annotation labels (1 background, 2 ball) on
    planes 2 and 5 only (0 elsewhere)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[:depth, :size, :size]
    balls = np.zeros((depth, size, size), bool)
    for cz, cy, cx in rng.uniform([0, 6, 6], [depth, size - 6, size - 6], (4, 3)):
        balls |= ((z - cz) / 3) ** 2 + ((y - cy) / 5) ** 2 + ((x - cx) / 5) ** 2 <= 1
    image = (balls * 150 + 40 + rng.normal(0, 15, balls.shape)).clip(0, 255).astype(np.uint8)
    labels = np.zeros(balls.shape, np.uint8)
    labels[[2, 5]] = np.where(balls[[2, 5]], 2, 1)
    return image, labels


def item_of(image, labels):
    normalised = (image.astype(np.float32) / 255.0)[None]
    return VolumeItem(normalised, labels.astype(np.int64) - 1, name="blobs.tif")


def test_losses_on_5d_logits_equal_the_flattened_2d_losses():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 5, 6)
    target = torch.randint(-1, 3, (2, 4, 5, 6))
    for kind in ("ce", "dice", "ce+dice"):
        flat = combined_loss(logits.flatten(2, 3), target.flatten(1, 2), kind)
        assert torch.allclose(combined_loss(logits, target, kind), flat)


def test_loss_ignores_unlabelled_planes():
    logits = torch.randn(1, 2, 3, 4, 4)
    target = torch.full((1, 3, 4, 4), -1)
    target[0, 1] = 1
    changed = logits.clone()
    changed[:, :, [0, 2]] += 5.0
    assert torch.allclose(combined_loss(logits, target), combined_loss(changed, target))


@pytest.mark.parametrize("depth, patch_depth, expected", [(3, 8, 1), (3, 4, 2), (3, 2, 3), (2, 16, 0), (4, 1, 4)])
def test_xy_only_levels_follow_the_patch_depth(depth, patch_depth, expected):
    assert auto_xy_pool_levels(depth, patch_depth) == expected


def trainer(tmp_path, **config):
    image, labels = blob_volume()
    settings = {"batch_size": 2, "patch_size": 32, "lr": 3e-3, "steps_per_epoch": 5, "max_steps": 30,
                "augment": AugmentConfig.preset("none"), "amp": False, "device": "cpu", **config}
    return VolumeTrainer(TINY, TrainConfig(**settings), [item_of(image, labels)], [], tmp_path / "m3d.pt",
                         patch_depth=4)


def test_loss_falls_on_a_tiny_sparse_volume(tmp_path):
    events = list(trainer(tmp_path).iter_fit())
    losses = [e.loss for e in events if isinstance(e, StepEnded)]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.interrupted
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert checkpoint.model_config.arch == "unet3d" and checkpoint.history["patch_depth"] == 4


def test_stop_after_the_first_step_saves_an_interrupted_checkpoint(tmp_path):
    stop = threading.Event()
    events = trainer(tmp_path).iter_fit(stop)
    next(e for e in events if isinstance(e, StepEnded))
    stop.set()
    finished = list(itertools.islice(events, 10))[-1]
    assert isinstance(finished, TrainingFinished) and finished.interrupted
    assert load_checkpoint(finished.checkpoint_path).interrupted


def write_pair(folder_images, folder_labels, stem, image, labels):
    folder_images.mkdir(exist_ok=True)
    folder_labels.mkdir(exist_ok=True)
    tifffile.imwrite(folder_images / f"{stem}.tif", image, imagej=True, metadata={"axes": "ZYX"})
    tifffile.imwrite(folder_labels / f"{stem}.tif", labels, imagej=True, metadata={"axes": "ZYX"})


def test_training_from_folders_writes_a_3d_checkpoint_and_reports_bad_pairs(tmp_path):
    images, labels = tmp_path / "images", tmp_path / "labels"
    write_pair(images, labels, "good", *blob_volume())
    image, _ = blob_volume(seed=1)
    write_pair(images, labels, "bad", image, np.zeros((3, 32, 32), np.uint8))
    config = TrainConfig(batch_size=1, patch_size=32, max_steps=3, steps_per_epoch=3, amp=False, device="cpu")
    model = ModelConfig(arch="unet3d", depth=2, base_channels=4)
    events = list(iter_train_volumes(images, labels, tmp_path / "out.pt", model, config, patch_depth=4))
    logs = [e.message for e in events if hasattr(e, "message")]
    assert any("bad.tif" in line and "does not match" in line for line in logs)
    checkpoint = load_checkpoint(events[-1].checkpoint_path)
    assert checkpoint.model_config.xy_pool_levels == 1  # 4 planes: z pooled once, the first level x-y only
    assert checkpoint.model_config.num_classes == 2
    assert [source["name"] for source in checkpoint.history["images"]] == ["good.tif"]


def test_training_without_matching_label_volumes_says_so(tmp_path):
    images, labels = tmp_path / "images", tmp_path / "labels"
    write_pair(images, labels, "a", *blob_volume())
    (labels / "a.tif").rename(labels / "other.tif")
    with pytest.raises(TrainingError, match="no label volume"):
        list(iter_train_volumes(images, labels, tmp_path / "out.pt"))


def test_a_2d_model_config_is_refused_for_volumes(tmp_path):
    images, labels = tmp_path / "images", tmp_path / "labels"
    write_pair(images, labels, "a", *blob_volume())
    with pytest.raises(TrainingError, match="2-D network"):
        list(iter_train_volumes(images, labels, tmp_path / "out.pt", ModelConfig(arch="unet")))


def test_3d_training_on_a_cpu_runs_in_fp32_in_the_3d_layout(tmp_path):
    volume_trainer = trainer(tmp_path, amp=True, max_steps=1)
    list(volume_trainer.iter_fit())
    assert volume_trainer.precision.name == "fp32"  # bf16 backward of Conv3d crashed torch 2.13 on this CPU
    assert volume_trainer.layout == torch.channels_last_3d
