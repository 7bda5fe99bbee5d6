"""VolumeTrainer: the Trainer's loop, step, losses, schedule, stopping and checkpoints on 3-D patches.

Only what differs in 3-D is overridden: the model runs in the channels_last_3d memory layout (twice as
fast as the plain layout for a training step on the 2-core CPU), in fp32 on a CPU (CPU_PRECISION), batches
come from data/volume_batches.VolumeBatchSource, and there is no validation split
or preview (sparse labels in a few planes: every labelled voxel trains, the best epoch is the lowest
training loss, as for 2-D scribbles). Events and checkpoints are those of the 2-D Trainer, with
``architecture: "unet3d"`` in the model config and ``patch_depth`` in the history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from unet_studio.data.volume import VolumeItem
from unet_studio.data.volume_batches import VolumeBatchSource
from unet_studio.models.checkpoint import Checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.runtime.memory_layout import Layout
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import Log, TrainingEvent
from unet_studio.training.losses import class_weights_from_counts
from unet_studio.training.trainer import Trainer

# bf16 autocast of this 3-D U-Net's training step crashed the process (segfault, torch 2.13 CPU, oneDNN) on
# the AVX-512 BF16 / AMX CPU, so 3-D runs on a CPU stay in fp32 whatever the 2-D probe chose.
CPU_PRECISION = "fp32"


class VolumeTrainer(Trainer):
    """Trains a 3-D model_config on VolumeItems with (patch_depth, patch_size, patch_size) patches;
    iter_fit(stop) yields the Trainer's events and ends with TrainingFinished."""

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, items: Sequence[VolumeItem],
                 classes: Sequence[Any], out_path: str | Path, patch_depth: int,
                 init_checkpoint: Checkpoint | None = None, image_sources: Sequence[dict] | None = None,
                 normalization: dict | None = None):
        self.patch_depth = int(patch_depth)
        super().__init__(model_config, train_config, items, [], classes, out_path, init_checkpoint=init_checkpoint,
                         image_sources=image_sources, normalization=normalization)

    def _build(self) -> Iterator[TrainingEvent]:
        yield from super()._build()
        cfg = self.train_config
        yield Log(f"patches: {self.patch_depth} x {cfg.patch_size} x {cfg.patch_size} voxels, batch {cfg.batch_size}")

    def _layout(self) -> Layout:
        if self.device.type in ("cpu", "cuda"):
            return Layout("channels_last_3d", f"3-D on {self.device.type}")
        return Layout("contiguous", f"{self.device.type} default")

    def _precision_wanted(self) -> str:
        return "auto" if self.train_config.amp and self.device.type != "cpu" else CPU_PRECISION

    def _use_items(self, seed: int, batch_size: int) -> None:
        cfg = self.train_config
        self.source = VolumeBatchSource(self.train_items, cfg.patch_size, self.patch_depth, batch_size, seed,
                                        cfg.augment)
        self.class_weights = None
        if cfg.class_balance:
            self.class_weights = class_weights_from_counts(self.counts, self.model_config.num_classes).to(self.device)

    def _new_history(self) -> dict[str, Any]:
        history = super()._new_history()
        history["patch_depth"] = self.patch_depth
        return history
