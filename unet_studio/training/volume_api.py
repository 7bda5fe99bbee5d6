"""What the CLI calls to train a 3-D U-Net on folders of multi-page TIFF volumes and label volumes."""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.core.images import file_stem
from unet_studio.data.volume import VolumeItem, list_volumes, read_volume_item
from unet_studio.models.checkpoint import DEFAULT_NORMALIZATION, Checkpoint, load_checkpoint
from unet_studio.models.config import VOLUME_ARCHS, ModelConfig
from unet_studio.training.api import SKIPPED, _generic_classes, _sources
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import Log, TrainingEvent
from unet_studio.training.volume_trainer import VolumeTrainer

DEFAULT_PATCH_DEPTH = 8
DEFAULT_VOLUME_PATCH_SIZE = 96  # x-y side of a 3-D patch: 8 x 96 x 96 voxels is about one 256 x 256 2-D patch


def auto_xy_pool_levels(depth: int, patch_depth: int) -> int:
    """Levels that pool only in x-y so that a patch keeps at least 2 planes at the bottleneck: a patch of
    8 planes pools z twice, 4 planes once, 1-3 planes never."""
    z_levels = max(0, int(math.log2(max(1, patch_depth))) - 1)
    return depth - min(depth, z_levels)


def load_volume_items(images_dir: str | Path, labels_dir: str | Path,
                      normalization: dict) -> tuple[list[VolumeItem], list[str], int]:
    """Volumes paired with label volumes by file stem; (items, one line per unusable pair, pairs found)."""
    labels = {file_stem(p): p for p in list_volumes(labels_dir)}
    pairs = [(p, labels[file_stem(p)]) for p in list_volumes(images_dir) if file_stem(p) in labels]
    items, problems = [], []
    for image_path, label_path in pairs:
        try:
            items.append(read_volume_item(image_path, label_path, normalization))
        except StudioError as error:
            problems.append(str(error))
    return items, problems, len(pairs)


def iter_train_volumes(images_dir: str | Path, labels_dir: str | Path, out_path: str | Path,
                       model_config: ModelConfig | None = None, train_config: TrainConfig | None = None,
                       patch_depth: int = DEFAULT_PATCH_DEPTH, init: Checkpoint | str | Path | None = None,
                       stop: threading.Event | None = None, n_classes: int | None = None,
                       xy_pool_levels: int | None = None) -> Iterator[TrainingEvent]:
    """Train a 3-D U-Net on images_dir/<stem>.tif volumes with labels_dir/<stem>.tif label volumes (0
    unlabelled, 1 background, 2.. classes); every labelled voxel trains. `xy_pool_levels` None: chosen from
    the patch depth (auto_xy_pool_levels) for a new model, the init checkpoint's when fine-tuning."""
    train_config = train_config or TrainConfig()
    init = init if init is None or isinstance(init, Checkpoint) else load_checkpoint(init)
    normalization = init.normalization if init else DEFAULT_NORMALIZATION
    items, problems, n_pairs = load_volume_items(images_dir, labels_dir, normalization)
    if not n_pairs:
        raise TrainingError(labels_dir, f"no label volume (.tif) has the name of a volume in {images_dir}")
    for problem in problems:
        yield Log(f"{SKIPPED}{problem}")
    if not items:
        raise TrainingError(labels_dir, f"none of the {n_pairs} volume/label pairs could be read")
    config = _resolve_config(model_config, init, items, n_classes, patch_depth, xy_pool_levels)
    classes = init.classes if init and len(init.classes) == config.num_classes else _generic_classes(config.num_classes)
    yield Log(f"{len(items)} volume(s) for training ({_planes_line(items)}); 3-D U-Net depth {config.depth}, "
              f"{config.xy_pool_levels} x-y-only pooling level(s)")
    trainer = VolumeTrainer(config, train_config, items, classes, out_path, patch_depth, init_checkpoint=init,
                            image_sources=_sources([Path(item.name) for item in items]), normalization=normalization)
    yield from trainer.iter_fit(stop)


def _resolve_config(model_config: ModelConfig | None, init: Checkpoint | None, items: Sequence[VolumeItem],
                    n_classes: int | None, patch_depth: int, xy_pool_levels: int | None) -> ModelConfig:
    base = model_config or (init.model_config if init else ModelConfig.from_preset(arch="unet3d"))
    if base.arch not in VOLUME_ARCHS:
        raise TrainingError(init.path if init and not model_config else "model settings",
                            f"arch {base.arch!r} is a 2-D network; volumes train arch 'unet3d'")
    channels = {item.image.shape[0] for item in items}
    if len(channels) > 1:
        raise TrainingError("training volumes", f"volumes differ in channel count ({sorted(channels)})")
    found = max(1, max(int(item.target.max(initial=0)) for item in items))
    if n_classes is not None and n_classes < found:
        raise TrainingError("training volumes", f"labels hold object class {found}, beyond the {n_classes} asked for")
    outputs = max(found, n_classes or 0) + 1
    if model_config is not None or init is None:
        levels = auto_xy_pool_levels(base.depth, patch_depth) if xy_pool_levels is None else xy_pool_levels
        base = dataclasses.replace(base, xy_pool_levels=levels)
    outputs = max(outputs, base.num_classes if init else 2)
    return dataclasses.replace(base, in_channels=channels.pop(), num_classes=outputs)


def _planes_line(items: Sequence[VolumeItem]) -> str:
    labelled = sum(int((item.target >= 0).reshape(item.target.shape[0], -1).any(axis=1).sum()) for item in items)
    total = sum(item.target.shape[0] for item in items)
    return f"{labelled} of {total} planes labelled"
