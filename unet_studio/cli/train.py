"""`unet-studio train`: train or fine-tune a U-Net on a project or on folders of images and labels."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from unet_studio.cli.output import ProgressLine, bar, duration, info
from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.core.project import Project
from unet_studio.data.augment_config import PRESET_NAMES as AUGMENT_PRESETS
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.models.config import ARCHS, DEFAULT_PRESET, PRESETS, ModelConfig
from unet_studio.training.api import iter_train_folders, iter_train_project
from unet_studio.training.config import DEVICES, LOSSES, TrainConfig
from unet_studio.training.events import EpochEnded, Log, StepEnded, TrainingFinished

DEFAULT_SECONDS = 600.0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train or fine-tune a U-Net on labelled images")
    p.add_argument("project", nargs="?", help="a UNet Studio project folder (instead of --images/--labels)")
    p.add_argument("--images", help="folder of images")
    p.add_argument("--labels", help="folder of label images with the images' stems "
                   "(0 unlabelled, 1 background, 2.. classes; see --labels-format)")
    p.add_argument("--labels-format", choices=["annotation", "mask"], default="annotation",
                   help="'mask': conventional masks (0 background, 1..K classes), all pixels labelled")
    p.add_argument("--out", help="checkpoint to write (.pt); with a project, default: inside the project")
    p.add_argument("--model", choices=ARCHS, default="unet", help="architecture (default unet)")
    p.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET, help="network size")
    p.add_argument("--padding", choices=["same", "valid"], default="same",
                   help="'valid': the U-Net paper's unpadded convolutions with overlap-tile prediction (unet only)")
    p.add_argument("--init", help="checkpoint to fine-tune or resume from")
    p.add_argument("--max-seconds", type=float, help=f"wall-clock budget (default {DEFAULT_SECONDS:.0f} s "
                   "when no other limit is given)")
    p.add_argument("--epochs", type=int, help="number of epochs")
    p.add_argument("--max-steps", type=int, help="number of optimiser steps")
    p.add_argument("--steps-per-epoch", type=int, default=TrainConfig.steps_per_epoch)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--patch-size", type=int, default=TrainConfig.patch_size)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--loss", choices=LOSSES, default=TrainConfig.loss)
    p.add_argument("--border-weight", action="store_true",
                   help="the U-Net paper's weight map that separates touching objects")
    p.add_argument("--augment", choices=list(AUGMENT_PRESETS), default="default", help="augmentation strength")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--no-amp", action="store_true", help="train in float32 (no mixed precision)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=run)


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig | None, TrainConfig]:
    """The model and training settings the arguments describe."""
    limits = {"max_seconds": args.max_seconds, "epochs": args.epochs, "max_steps": args.max_steps}
    if all(v is None for v in limits.values()):
        limits["max_seconds"] = DEFAULT_SECONDS
    train_config = TrainConfig(
        loss=args.loss, border_weight=args.border_weight, batch_size=args.batch_size,
        patch_size=args.patch_size, lr=args.lr, steps_per_epoch=args.steps_per_epoch, seed=args.seed,
        device=args.device, amp=not args.no_amp, augment=AugmentConfig.preset(args.augment), **limits,
    )
    model_config = None if args.init else ModelConfig.from_preset(args.preset, arch=args.model, padding=args.padding)
    return model_config, train_config


def run(args: argparse.Namespace) -> int:
    model_config, train_config = configs_from_args(args)
    stop = threading.Event()
    if args.project:
        if args.images or args.labels:
            raise TrainingError(args.project, "give either a project folder or --images/--labels, not both")
        project = Project.open(args.project)
        events = iter_train_project(project, args.out, model_config, train_config, init=args.init, stop=stop)
    else:
        if not (args.images and args.labels and args.out):
            raise TrainingError("train", "needs a project folder, or --images DIR --labels DIR --out MODEL.pt")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        events = iter_train_folders(args.images, args.labels, args.out, model_config, train_config,
                                    labels_format=args.labels_format, init=args.init, stop=stop)
    finished = follow_training(events, train_config, stop)
    return 0 if finished is not None and finished.checkpoint_path is not None else 1


def follow_training(events, train_config: TrainConfig, stop: threading.Event) -> TrainingFinished | None:
    """Print progress for a stream of training events; Ctrl+C stops the run and keeps the checkpoint."""
    progress = ProgressLine()
    finished = None
    try:
        for event in events:
            finished = _show(event, train_config, progress) or finished
    except KeyboardInterrupt:
        progress.finish()
        info("stopping: saving the best checkpoint so far...")
        stop.set()
        for event in events:
            finished = _show(event, train_config, progress) or finished
    except StudioError:
        progress.finish()
        raise
    return finished


def _show(event, cfg: TrainConfig, progress: ProgressLine) -> TrainingFinished | None:
    if isinstance(event, Log):
        progress.finish()
        info(event.message)
    elif isinstance(event, StepEnded):
        fraction, eta = _fraction(event, cfg)
        progress.update(f"train {bar(fraction)} step {event.step} loss {event.loss:.4f} "
                        f"{event.patches_per_s:.1f} patches/s {duration(event.elapsed_s)}"
                        + (f" ETA {duration(eta)}" if eta is not None else ""))
    elif isinstance(event, EpochEnded):
        progress.finish()
        dice = event.val_metrics.get("mean_dice")
        val = f" val loss {event.val_loss:.4f}" if event.val_loss is not None else ""
        val += f" val Dice {dice:.3f}" if dice is not None else ""
        info(f"epoch {event.epoch}: train loss {event.train_loss:.4f}{val} lr {event.lr:.2e}"
             f"{'  (best, saved)' if event.best else ''}")
    elif isinstance(event, TrainingFinished):
        progress.finish()
        where = event.checkpoint_path or "nothing saved"
        info(f"finished: {event.reason}; model: {where}")
        return event
    return None


def _fraction(event: StepEnded, cfg: TrainConfig) -> tuple[float, float | None]:
    """Progress through the tightest limit, and the seconds left by it."""
    fraction = cfg.budget_used(event.step, event.elapsed_s)
    if fraction is None:
        return 0.0, None
    eta = event.elapsed_s * (1 - fraction) / fraction if fraction > 0 else None
    return fraction, eta


