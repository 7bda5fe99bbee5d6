"""Tiny synthetic training sets and settings shared by the trainer tests."""

import numpy as np
import tifffile

from tests.conftest import make_blobs
from unet_studio.core.project import Project
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.sampling import TrainItem
from unet_studio.io.ome_zarr_convert import convert_to_ome_zarr
from unet_studio.models.config import ModelConfig
from unet_studio.training.config import TrainConfig

CLASSES = [{"value": 1, "name": "background", "color": "#000000"},
           {"value": 2, "name": "cell", "color": "#ff0000"}]
BIG_HEIGHT, BIG_WIDTH, BIG_CHUNK = 400, 360, 64
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


def scribbled_items(count: int = 2):
    """blob_items with one row in four labelled: scribbles (under half the pixels labelled)."""
    items = blob_items(count)
    for item in items:
        item.target[np.arange(item.target.shape[0]) % 4 != 0] = -1
    return items


def tiny_config(**changes):
    """Fast settings: small patches and batches, no augmentation, one thread."""
    base = dict(batch_size=2, patch_size=32, lr=3e-3, steps_per_epoch=5, epochs=2, device="cpu",
                augment=AugmentConfig.preset("none"), num_threads=1, early_stopping_patience=50)
    base.update(changes)
    return TrainConfig(**base)


def big_image_project(tmp_path, big_split="train", small=True):
    """A project with a 400 x 360 OME-Zarr "big" image (64 px chunks, chunked labels in 64 px chunks)
    scribbled in three places, and with `small` two 48 x 48 ordinary TIFFs with dense labels; returns the
    project and the big image's annotation."""
    image, mask = make_blobs((BIG_HEIGHT, BIG_WIDTH), n=30, radius=8, seed=5, dtype=np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", image)
    paths = [convert_to_ome_zarr(tmp_path / "big.tif", tmp_path / "data" / "big.ome.zarr", chunk=BIG_CHUNK)]
    smalls = [make_blobs((48, 48), n=4, radius=5, seed=index) for index in range(2 if small else 0)]
    for index, (pixels, _) in enumerate(smalls):
        paths.append(tmp_path / "data" / f"small{index}.tif")
        tifffile.imwrite(paths[-1], pixels)
    project = Project.create(tmp_path / "project", paths)
    annotation = np.zeros((BIG_HEIGHT, BIG_WIDTH), np.uint8)
    for y, x in ((10, 10), (200, 150), (330, 300)):
        annotation[y:y + 40, x:x + 40] = mask[y:y + 40, x:x + 40] + 1
    project.chunked_labels("big", chunk=BIG_CHUNK).write(0, 0, annotation)
    project.set_split("big", big_split)
    for index, (_, labels) in enumerate(smalls):
        project.save_annotation(f"small{index}", labels + 1)
    return project, annotation
