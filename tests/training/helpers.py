"""Tiny synthetic training sets and settings shared by the trainer tests."""

import numpy as np

from tests.conftest import make_blobs
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.sampling import TrainItem
from unet_studio.models.config import ModelConfig
from unet_studio.training.config import TrainConfig

CLASSES = [{"value": 1, "name": "background", "color": "#000000"},
           {"value": 2, "name": "cell", "color": "#ff0000"}]
TINY_MODEL = ModelConfig(in_channels=1, num_classes=2, depth=2, base_channels=4)


def blob_items(count=2, size=48, seed=0, sparse=False):
    """TrainItems of bright discs: target 0 background, 1 disc; with `sparse` only every other row labelled."""
    items = []
    for index in range(count):
        image, mask = make_blobs((size, size), n=4, radius=5, seed=seed + index, dtype=np.float32)
        target = mask.astype(np.int64)
        if sparse:
            target[1::2] = -1
        items.append(TrainItem(image[None].astype(np.float32), target, name=f"blob{index}"))
    return items


def tiny_config(**changes):
    """Fast settings: small patches and batches, no augmentation, one thread."""
    base = dict(batch_size=2, patch_size=32, lr=3e-3, steps_per_epoch=5, epochs=2, device="cpu",
                augment=AugmentConfig.preset("none"), num_threads=1, early_stopping_patience=50)
    base.update(changes)
    return TrainConfig(**base)
