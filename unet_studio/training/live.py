"""Live training: a run with no end of its own that follows the project's labels as they are saved.

`iter_train_live(snapshot, out_path, ...)` is iter_train_snapshot's twin: the same events, plus
LabelsReloaded each time the training set changed and ModelKept after each LiveControl.keep_model; it ends
only when `stop` is set, with TrainingFinished (interrupted=False: a live run has no end to fall short of)
and a loadable checkpoint at out_path. See live_trainer.py for the schedule and what "best" means.
Validation uses only images marked 'val': no training image is held out automatically, because images
join one by one while the user paints and a fresh stroke should train at once.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from unet_studio.core.errors import TrainingError
from unet_studio.models.checkpoint import DEFAULT_NORMALIZATION, Checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.training.api import SKIPPED, _as_checkpoint, _channels, _resolve_model
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import Log, TrainingEvent
from unet_studio.training.live_control import LiveControl
from unet_studio.training.live_labels import LiveLabels
from unet_studio.training.live_trainer import LiveTrainer
from unet_studio.training.project_source import ProjectSnapshot

__all__ = ["LiveControl", "LiveTrainer", "iter_train_live"]


def iter_train_live(snapshot: ProjectSnapshot, out_path: str | Path, model_config: ModelConfig | None = None,
                    train_config: TrainConfig | None = None, init: Checkpoint | str | Path | None = None,
                    stop: threading.Event | None = None, control: LiveControl | None = None,
                    on_trainer: Callable[[LiveTrainer], None] | None = None) -> Iterator[TrainingEvent]:
    """Train live on the snapshot's train images (validating on its 'val' ones) until `stop` is set.
    Step, time and epoch limits in `train_config` are ignored; `control` pauses, keeps models and takes new
    snapshots. Needs one labelled training image to start (TrainingError otherwise)."""
    train_config = dataclasses.replace(train_config or TrainConfig(), epochs=None, max_steps=None, max_seconds=None)
    init = _as_checkpoint(init)
    normalization = init.normalization if init else DEFAULT_NORMALIZATION
    labels = LiveLabels(snapshot, normalization)
    first = labels.refresh()
    for problem in first.problems if first else ():
        yield Log(f"{SKIPPED}{problem}")
    if snapshot.validation_left_out:
        yield Log(snapshot.validation_left_out)
    train_items, val_items = (list(first.train), list(first.val)) if first else ([], [])
    if not train_items:
        raise TrainingError(snapshot.manifest_path, "no labelled training image: label some pixels first")
    config = _resolve_model(model_config, init, _channels(train_items + val_items), snapshot.num_classes)
    labels.limit(config.in_channels, config.num_classes)
    yield Log(f"live training on {len(train_items)} labelled image(s), validating on {len(val_items)}"
              + ("" if val_items else " (mark images 'val' to validate; the model file holds the latest weights)")
              + f"; watching {labels.watched} image(s) for new labels")
    trainer = LiveTrainer(config, train_config, train_items, val_items, list(snapshot.classes), out_path,
                          init_checkpoint=init, image_sources=list(first.sources), normalization=normalization,
                          labels=labels, control=control or LiveControl())
    if on_trainer is not None:
        on_trainer(trainer)
    yield from trainer.iter_fit(stop)
