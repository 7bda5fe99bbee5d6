"""Trainer: a Qt-free generator that trains a model and yields immutable events (STYLE.md section 3)."""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from unet_studio.core.errors import TrainingError
from unet_studio.core.instance_targets import TargetRecipe
from unet_studio.core.metrics import collapse_warning
from unet_studio.data.mixed_batches import batch_source, check_items
from unet_studio.data.sampling import TrainItem
from unet_studio.data.weights import BorderWeight
from unet_studio.models.checkpoint import Checkpoint, cpu_state_dict, to_plain
from unet_studio.models.config import ModelConfig
from unet_studio.models.registry import build_model
from unet_studio.training.config import TrainConfig
from unet_studio.training.consistency import ramp_factor, unlabelled_term
from unet_studio.training.smoothness import labels_are_sparse, smoothness_term
from unet_studio.training.scribble_forest import scribble_forest
from unet_studio.training.distributed import current as current_run
from unet_studio.runtime.device import select_device
from unet_studio.runtime.memory_layout import Layout, choose_layout, measured_layout
from unet_studio.runtime.precision import choose_precision
from unet_studio.training.fine_tune import load_init_weights
from unet_studio.training.events import EpochEnded, Log, StepEnded, TrainingEvent, TrainingFinished
from unet_studio.training.losses import class_weights_from_counts, combined_loss
from unet_studio.training.postprocess_choice import describe_choice
from unet_studio.training.previews import PreviewMixin
from unet_studio.training.run_results import RunResultsMixin
from unet_studio.training.schedule import FINAL_FACTOR, WarmupCosine
from unet_studio.training.stopping import PlateauRule, anneal_lr, epoch_score

ENDED = "ended"  # what Trainer._step returns after it ended the run


@dataclasses.dataclass
class _Best:
    """The best weights so far (CPU copy) and what they scored."""

    score: float
    epoch: int
    state: dict[str, torch.Tensor]
    metrics: dict[str, float]
    threshold: float | None


class Trainer(RunResultsMixin, PreviewMixin):
    """Trains `model_config` on TrainItems (big images' LazyTrainItems too: data/mixed_batches.py; never as
    validation items); iter_fit(stop) yields StepEnded/EpochEnded/PreviewReady/Log and finally TrainingFinished. The best weights are saved atomically to `out_path` after each improving epoch.
    `image_sources` ([{name, sha256}]) and `normalization` (how the items were scaled) go into the checkpoint.
    `recipe` says what the targets mean; under touching-border the last output is the border class, validation
    scores the folded class probabilities, and the run ends by choosing post-processing on validation images."""

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig, train_items: Sequence[TrainItem],
                 val_items: Sequence[TrainItem], classes: Sequence[Any], out_path: str | Path,
                 init_checkpoint: Checkpoint | None = None, preview_image: np.ndarray | None = None,
                 image_sources: Sequence[dict] | None = None, normalization: dict | None = None,
                 recipe: TargetRecipe | None = None):
        self.model_config, self.train_config = model_config, train_config
        self.recipe = recipe or TargetRecipe()
        self.border_class = model_config.num_classes - 1 if self.recipe.has_border else None
        self.postprocess: dict = {}
        self.sparse_labels = False  # scribbles (smoothness.labels_are_sparse); set with the items
        self.forest = None  # scribbles: the pixel forest fitted beside the network (scribble_forest.py)
        self.train_items, self.val_items = list(train_items), list(val_items)
        self.classes = to_plain(list(classes))
        self.out_path = Path(out_path)
        self.init_checkpoint = init_checkpoint
        self.image_sources = to_plain(list(image_sources or []))
        self.normalization = normalization
        self.counts = check_items(self.train_items, self.val_items, self.model_config, self.out_path)
        self.unlabelled_ramp = 0.0
        self._init_preview(preview_image)

    # -- set-up -------------------------------------------------------------------------------------------

    def _build(self) -> Iterator[TrainingEvent]:
        """Device, model (fine-tuned from init_checkpoint if given), optimiser, schedule, batches."""
        cfg = self.train_config
        choice = select_device(cfg.device)
        self.device = choice.device
        yield Log(f"device: {choice.device.type} ({choice.reason})")
        torch.manual_seed(cfg.seed)
        self.model = build_model(self.model_config)
        if self.init_checkpoint is not None:
            note = load_init_weights(self.model, self.model_config, self.classes, self.init_checkpoint)
            yield Log(note)
        self.precision = choose_precision(self.device, self._precision_wanted())
        self.dist = current_run()  # torchrun: DDP, one patch stream per rank, rank 0 saves (training/distributed.py)
        self.layout_choice = self._layout()
        self.layout = self.layout_choice.memory_format
        self.model.to(device=self.device, memory_format=self.layout)
        self.net = self.dist.wrap(self.model, self.device)
        self.autocast, self.scaler = self.precision.autocast, self.precision.grad_scaler()
        yield Log(f"precision: {self.precision.describe()}")
        yield Log(f"memory layout: {self.layout_choice.describe()}")
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.schedule = WarmupCosine.for_budget(cfg.lr, cfg.step_budget(), cfg.max_seconds, cfg.steps_per_epoch)
        self._use_items(self.dist.rank_seed(cfg.seed), cfg.batch_size)

    def _layout(self) -> Layout:
        """channels_last, or in CPU float32 the layout this network measured faster (runtime/memory_layout.py)."""
        side = self.train_config.patch_size + 2 * int(getattr(self.model, "margin", 0))
        choice = choose_layout(self.precision, self.model, (1, self.model_config.in_channels, side, side))
        if self.dist.active:  # under torchrun every rank measured; all train in rank 0's (every rank broadcasts)
            speedup = self.dist.from_main(-1.0 if choice.speedup is None else choice.speedup)
            if choice.speedup is not None and speedup >= 0:
                choice = measured_layout(speedup)
        return choice

    def _precision_wanted(self) -> str:
        return "auto" if self.train_config.amp else "fp32"

    def _use_items(self, seed: int, batch_size: int) -> None:
        """The batch source and class weights for the current training items."""
        cfg = self.train_config
        margin = int(getattr(self.model, "margin", 0))
        self.source = batch_source(self.train_items, cfg.patch_size, batch_size, seed, cfg.augment, margin,
                                  BorderWeight(gaps=cfg.border_weight_gaps) if cfg.border_weight else None)
        self.class_weights, self.sparse_labels = None, labels_are_sparse(self.train_items)
        # Not under touching-border: weights ~ 1/sqrt(frequency) gave the rare border class about a third of the
        # background's probability early in a run, so whole backgrounds joined the objects (DSB, 90 steps).
        if cfg.class_balance and not cfg.border_weight and self.border_class is None:
            weights = class_weights_from_counts(self.counts, self.model_config.num_classes)
            self.class_weights = weights.to(self.device)

    @property
    def smoothness_weight(self) -> float:
        """The smoothness term's weight (smoothness.py): the configured one for scribbles, 0 for dense masks."""
        return self.train_config.smoothness_weight if self.sparse_labels else 0.0

    def set_items(self, train_items: Sequence[TrainItem], val_items: Sequence[TrainItem]) -> None:
        """Swap the training and validation images between steps (live training): the batch source, class
        counts and weights are rebuilt; the model, the optimiser and its state stay. TrainingError (and
        nothing changed) when the new set cannot train."""
        previous = self.train_items, self.val_items, self.counts
        self.train_items, self.val_items = list(train_items), list(val_items)
        try:
            self.counts = check_items(self.train_items, self.val_items, self.model_config, self.out_path)
        except TrainingError:
            self.train_items, self.val_items, self.counts = previous
            raise
        if hasattr(self, "source"):  # built: new patches drawn on from the old source's random stream
            self._use_items(int(self.source.rng.integers(2**31)), self.source.batch_size)

    # -- training loop ------------------------------------------------------------------------------------

    def _train_step(self, batch) -> float:
        """One optimiser step; returns the loss. A non-finite loss leaves the weights untouched."""
        images = torch.from_numpy(batch.images).to(self.device, non_blocking=True)
        images = images.contiguous(memory_format=self.layout)
        targets = torch.from_numpy(batch.targets).to(self.device, non_blocking=True)
        weights = None if batch.weights is None else torch.from_numpy(batch.weights).to(self.device)
        with self.autocast():
            logits = self.net(images)
        loss = combined_loss(logits, targets, self.train_config.loss, weights, self.class_weights)
        config, ramp = self.train_config, self.unlabelled_ramp
        loss = (loss + unlabelled_term(self.model, images, logits, targets, config, ramp, self.autocast)
                + smoothness_term(logits, images, targets, self.smoothness_weight * ramp, config.smoothness_sigma,
                                   config.smoothness_blur))
        value = self.dist.mean(float(loss.detach()))
        if not np.isfinite(value):
            return value
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        return value

    def _safe_step(self, batch) -> tuple[float | None, str | None]:
        """_train_step, halving the batch size on GPU out-of-memory; (loss, None) or (None, reason to end)."""
        try:
            return self._train_step(batch), None
        except torch.OutOfMemoryError:
            self.optimizer.zero_grad(set_to_none=True)
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if self.dist.active:  # one rank alone cannot change its batch: its peers would wait on it forever
                return None, (f"out of GPU memory on rank {self.dist.rank} at batch size {self.source.batch_size}: "
                              "the ranks of a data-parallel run cannot shrink their batches alone; start again "
                              "with a smaller --batch-size or --patch-size")
            if self.source.batch_size == 1:
                return None, (f"out of GPU memory even with batch size 1 at patch size {self.source.patch_size}: "
                              "use a smaller patch size or model, or the CPU")
            self.source.batch_size //= 2
            return None, None

    def iter_fit(self, stop: threading.Event | None = None) -> Iterator[TrainingEvent]:
        """Train until a limit, early stopping, NaN loss or `stop`; the last event is TrainingFinished."""
        stop = stop or threading.Event()
        threads = torch.get_num_threads()
        if self.train_config.num_threads:  # None: the caller's setting (all cores headless; the GUI leaves one)
            torch.set_num_threads(self.train_config.num_threads)
        try:
            yield from self._build()
            for event in self._loop(stop):
                if isinstance(event, TrainingFinished) and self.postprocess:
                    yield Log(describe_choice(self.postprocess))
                yield event
        finally:
            torch.set_num_threads(threads)

    def _loop(self, stop: threading.Event) -> Iterator[TrainingEvent]:
        cfg = self.train_config
        self.history = self._new_history()
        self.best: _Best | None = None
        self.start = time.perf_counter()  # the forest's fit counts against the time budget
        self.plateau, self.anneal_from = PlateauRule(cfg.early_stopping_patience), None
        if self.sparse_labels and self.border_class is None and self.dist.is_main:
            self.forest, note = scribble_forest(self.train_items, self.model_config.num_classes, cfg.seed,
                                                cfg.scribble_forest)
            if note:
                yield Log(note)
        step, epoch = 0, 0
        while True:
            epoch += 1
            losses, epoch_start, patches = [], time.perf_counter(), 0
            reason = None
            while len(losses) < cfg.steps_per_epoch:
                stopped, reason = self.dist.agree_to_end(stop.is_set(), self._limit_reached(step))
                if stopped:
                    yield self._finish("stopped by the user", interrupted=True)
                    return
                if reason:
                    break
                result = yield from self._step(step, epoch)
                if result is ENDED:
                    return
                if result is None:
                    continue
                step += 1
                losses.append(result[0])
                patches += result[1]
            if losses:
                yield from self._end_epoch(epoch, step, losses, patches / (time.perf_counter() - epoch_start))
            if reason is None and cfg.epochs is not None and epoch >= cfg.epochs:
                reason = f"finished {cfg.epochs} epoch(s)"
            if reason is None and self.plateau.finished:
                reason = self.plateau.reason()
            if reason is not None:
                yield self._finish(reason, interrupted=False)
                return

    def _step(self, step: int, epoch: int):
        """Step `step + 1` at the schedule's rate, yielding its events; returns (loss, patches), None when
        out-of-memory halved the batch, or ENDED once it yielded TrainingFinished (OOM at batch 1, NaN loss)."""
        lr = self.dist.from_main(self._lr(step))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.unlabelled_ramp = ramp_factor(self.schedule, step, time.perf_counter() - self.start)
        batch_start, batch = time.perf_counter(), self.source.next_batch()
        loss, oom_reason = self._safe_step(batch)
        if oom_reason:
            yield self._finish(oom_reason, interrupted=True)
            return ENDED
        if loss is None:
            yield Log(f"out of GPU memory: batch size halved to {self.source.batch_size}")
            return None
        if not np.isfinite(loss):
            yield self._finish(f"loss became {loss:g} at step {step + 1}", interrupted=True)
            return ENDED
        now = time.perf_counter()
        yield StepEnded(step + 1, epoch, loss, lr, len(batch.targets) / max(now - batch_start, 1e-9), now - self.start)
        return loss, len(batch.targets)

    def _lr(self, step: int) -> float:
        """The schedule's rate, or lower while annealing after a plateau (stopping.py)."""
        lr = self.schedule.lr(step, time.perf_counter() - self.start)
        if self.anneal_from is None:
            return lr
        start_step, start_lr = self.anneal_from
        tail = anneal_lr(start_lr, FINAL_FACTOR * self.train_config.lr, step - start_step,
                         self.plateau.anneal_epochs * self.train_config.steps_per_epoch)
        return min(lr, tail)

    def _limit_reached(self, step: int) -> str | None:
        return self.train_config.limit_reached(step, time.perf_counter() - self.start)

    def _end_epoch(self, epoch: int, step: int, losses: list[float], patches_per_s: float):
        """Validate, keep/save the best weights, send the preview; returns whether this epoch improved."""
        train_loss = float(np.mean(losses))
        val_loss, metrics, threshold, collapsed = None, {}, None, None
        if self.val_items and self.dist.is_main:
            result = self._validate()
            val_loss, metrics, threshold, collapsed = result.loss, result.metrics, result.threshold, result.collapsed_to
        score, by_dice = self.dist.from_main(epoch_score(train_loss, val_loss, metrics), "mean_dice" in metrics)
        self.plateau.update(score, is_loss=not by_dice)
        if self.plateau.annealing and self.anneal_from is None:
            self.anneal_from = (step, self.optimizer.param_groups[0]["lr"])
        improved = self.best is None or score > self.best.score
        if improved:
            self.best = _Best(score, epoch, cpu_state_dict(self.served_model()), metrics, threshold)
        lr = self.optimizer.param_groups[0]["lr"]
        elapsed = time.perf_counter() - self.start
        self._record(epoch, step, train_loss, val_loss, metrics, lr, elapsed, patches_per_s)
        if improved and self.dist.is_main:
            self._save(interrupted=False)
        yield EpochEnded(epoch, train_loss, val_loss, dict(metrics), lr, elapsed, improved, collapsed)
        if collapsed is not None:
            yield Log(collapse_warning(f"epoch {epoch}'s model", self._class_name(collapsed), collapsed == 0))
        preview = self.preview(epoch, step)
        if preview is not None:
            yield preview
        return improved
