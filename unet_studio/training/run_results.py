"""What a training run leaves: validation on whole images, the history, checkpoints and the post-processing
chosen for the best weights. A mixin of Trainer (the attributes it reads are set in Trainer._build)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unet_studio.inference.tile_functions import ForestBlended
from unet_studio.models.checkpoint import cpu_state_dict, save_checkpoint
from unet_studio.models.pixel_forest import FOREST_KEY
from unet_studio.models.registry import build_with_weights
from unet_studio.training.events import TrainingFinished
from unet_studio.training.flip_choice import choose_flips, flips_for_scribbles
from unet_studio.training.history import new_history, record_epoch
from unet_studio.training.postprocess_choice import choose_postprocess
from unet_studio.training.validation import validate


class RunResultsMixin:
    """Validation, history, checkpoint saving and the end of a run, for Trainer."""

    def served_model(self) -> nn.Module:
        """What validation, previews and checkpoints use: the model (LiveTrainer: its running average)."""
        return self.model

    def _validate(self, threshold: float | None = None, model: nn.Module | None = None, tta: bool = False):
        tile, overlap = self._tiling()
        model = model or self.served_model()
        return validate(model if self.forest is None else ForestBlended(model, self.forest), self.val_items, tile=tile, overlap=overlap, device=self.device,
                        precision=self.precision.name, loss_kind=self.train_config.loss, class_weights=self.class_weights,
                        class_names=[c["name"] for c in self.classes], threshold=threshold,
                        border_class=self.border_class, tta=tta)

    def _class_name(self, value: int) -> str:
        """Name of network class `value` (0 = background) from the project's classes."""
        names = [c["name"] for c in self.classes]
        return names[value] if value < len(names) else f"class {value}"

    def _tiling(self) -> tuple[int, int]:
        """Whole-image prediction tiles: the training patch size (at least 64), overlapping by 1/8."""
        tile = max(64, self.train_config.patch_size)
        return tile, tile // 8

    # -- history and checkpoints --------------------------------------------------------------------------

    def _new_history(self) -> dict[str, Any]:
        return new_history(self.train_config.batch_size, self.train_config.patch_size, self.device.type,
                           self.image_sources, [Path(item.name).name for item in self.val_items])

    def _record(self, epoch, step, train_loss, val_loss, metrics, lr, elapsed, patches_per_s) -> None:
        h = self.history
        record_epoch(h, epochs=epoch, steps=step, train_loss=train_loss, val_loss=val_loss,
                     val_dice=metrics.get("mean_dice"), lr=lr, seconds=elapsed, patches_per_s=patches_per_s)
        h["batch_size"] = self.source.batch_size
        h["best_epoch"] = self.best.epoch if self.best else None

    def _save(self, interrupted: bool) -> Path:
        best = self.best
        state = best.state if best else cpu_state_dict(self.served_model())
        threshold = self.postprocess.get("threshold", best.threshold if best else None)
        return save_checkpoint(self.out_path, self.model, self.model_config, self.classes, self.normalization,
                               self.history, self.train_config, interrupted, threshold=threshold,
                               metrics=best.metrics if best else {}, state_dict=state, recipe=self.recipe,
                               postprocess=self.postprocess,
                               extra={FOREST_KEY: self.forest.to_plain()} if self.forest else None)

    def _choose_postprocess(self) -> None:
        """For the best weights, on the validation images: under touching-border the threshold, seed level, minimum
        size and flips (postprocess_choice.py); else whether flips pay (flip_choice.py, unless not to choose).
        Scribbles with no validation images get flips by rule (flip_choice.flips_for_scribbles)."""
        nothing_to_choose = self.border_class is None and not self.train_config.choose_flips
        if not self.dist.is_main or nothing_to_choose:
            return
        if not self.val_items:
            if self.sparse_labels and self.border_class is None:
                self.postprocess = flips_for_scribbles()
            return
        if self.best is None:
            return
        best, (tile, overlap) = build_with_weights(self.model_config, self.best.state).to(self.device), self._tiling()
        if self.border_class is not None:
            choice = choose_postprocess(best, self.val_items, tile=tile, overlap=overlap, device=self.device,
                                        precision=self.precision.name)
        else:
            choice = choose_flips(lambda tta: self._validate(model=best, tta=tta), len(self.val_items))
        self.postprocess = choice.to_dict() if choice else {}

    def _finish(self, reason: str, interrupted: bool) -> TrainingFinished:
        """Save the best weights (or the current ones if no epoch ended) with the full history."""
        path = None
        self._choose_postprocess()
        if self.dist.is_main and (self.best is not None or all(torch.isfinite(p).all() for p in self.served_model().parameters())):
            path = self._save(interrupted)
        return TrainingFinished(path, copy.deepcopy(self.history), interrupted, reason)
