"""`unet-studio train`: train or fine-tune a U-Net on a project or on folders of images and labels."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from unet_studio.cli.output import info, problem
from unet_studio.cli.paths import unusable_links
from unet_studio.cli.train_ranks import destination_for, follower_for
from unet_studio.cli.train_volumes import (add_volume_options, check_volume_args, is_volume_run, iter_volume_run,
                                           patch_size)
from unet_studio.cli.train_watch import WatchFollower
from unet_studio.cli.training_progress import TrainingFollower, follow_training  # noqa: F401 (demo uses it)
from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.core.instance_targets import RECIPES
from unet_studio.core.images import list_images
from unet_studio.core.project import Project
from unet_studio.data.augment_config import PRESET_NAMES as AUGMENT_PRESETS
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.weights import GAPS
from unet_studio.models.config import ARCHS, DEFAULT_PRESET, PRESETS, VOLUME_ARCHS, ModelConfig
from unet_studio.training.api import MAX_UNCONFIRMED_CLASSES, iter_train_folders, iter_train_project, register_model
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.training.config import DEVICES, LOSSES, TrainConfig
from unet_studio.training.destination import ModelDestination
from unet_studio.training.distributed import DistributedRun, process_group
from unet_studio.training.live_watch import DEFAULT_SAVE_EVERY_S, iter_train_watched

DEFAULT_SECONDS = 600.0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train or fine-tune a U-Net on labelled images")
    p.add_argument("project", nargs="?", help="a UNet Studio project folder (instead of --images/--labels)")
    p.add_argument("--images", help="folder of images")
    p.add_argument("--labels", help="folder of label images with the images' stems "
                   "(0 unlabelled, 1 background, 2.. classes; see --labels-format)")
    p.add_argument("--labels-format", choices=["annotation", "mask", "instances"], default="annotation",
                   help="'mask': conventional masks (0 background, 1..K classes), all pixels labelled; "
                        "'instances': instance label images (0 background, one id per object): one object "
                        "class; with --instance-target touching-border also the class where objects touch "
                        "(a project uses its instance layers by itself)")
    p.add_argument("--out", help="checkpoint to write (.pt); with a project, default: inside the project. "
                   "Written when the run ends; the run's checkpoints go beside it as <stem>.run-<pid>.pt")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out when the run ends")
    p.add_argument("--classes", type=int, metavar="N",
                   help=f"with --labels: object classes to train (confirms labels with more than "
                        f"{MAX_UNCONFIRMED_CLASSES}; default: what the labels hold)")
    p.add_argument("--model", choices=ARCHS + VOLUME_ARCHS, default="unet",
                   help="architecture (default unet); unet3d: a 3-D U-Net on multi-page TIFF volumes "
                        "(see --patch-depth)")
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
    p.add_argument("--patch-size", type=int, help=f"patch side in pixels (default {TrainConfig.patch_size}, "
                   "unet3d 96)")
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--loss", choices=LOSSES, default=TrainConfig.loss)
    p.add_argument("--border-weight", action="store_true",
                   help="the U-Net paper's weight map that separates touching objects")
    p.add_argument("--border-weight-gaps", choices=GAPS, default=TrainConfig.border_weight_gaps,
                   help="with --border-weight: which pixels fill the gaps between objects: 'background' (painted "
                        "objects, the paper's cells; the default) or 'foreground' (painted membranes between "
                        "unpainted cells)")
    p.add_argument("--instance-target", choices=RECIPES, default=None,
                   help="what instance labels train: 'touching-border' (the default: the classes and a class "
                        "where objects touch, with post-processing chosen on validation images) or 'semantic' (the "
                        "classes only; instances by the distance watershed)")
    p.add_argument("--border-width", type=int, default=TrainConfig.border_width, metavar="PX",
                   help="with instance labels: object pixels this close to another object form the touching-border "
                        f"class (default {TrainConfig.border_width})")
    p.add_argument("--smoothness", type=float, default=TrainConfig.smoothness_weight, metavar="WEIGHT",
                   help="with scribbles: how strongly neighbouring pixels that look alike are pulled to one class "
                        f"(default {TrainConfig.smoothness_weight:g}; 0 turns it off; dense labels never use it)")
    p.add_argument("--augment", choices=list(AUGMENT_PRESETS), default="default", help="augmentation strength")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--no-amp", action="store_true", help="train in float32 (no mixed precision)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--watch", action="store_true",
                   help="with a project: train live until Ctrl+C or SIGTERM, re-reading labels, images and splits "
                        "as they change on disk; then save and register the model")
    p.add_argument("--save-every", type=float, default=DEFAULT_SAVE_EVERY_S, metavar="SECONDS",
                   help=f"with --watch: write the current weights to <model stem>.current.pt this often "
                        f"(default {DEFAULT_SAVE_EVERY_S:.0f} s)")
    add_volume_options(p)
    p.set_defaults(handler=run)


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig | None, TrainConfig]:
    """The model and training settings the arguments describe."""
    limits = {"max_seconds": args.max_seconds, "epochs": args.epochs, "max_steps": args.max_steps}
    if all(v is None for v in limits.values()):
        limits["max_seconds"] = DEFAULT_SECONDS
    train_config = TrainConfig(
        loss=args.loss, border_weight=args.border_weight, border_weight_gaps=args.border_weight_gaps,
        border_width=args.border_width, smoothness_weight=args.smoothness,
        instance_target=args.instance_target or TrainConfig.instance_target, batch_size=args.batch_size,
        patch_size=patch_size(args), lr=args.lr, steps_per_epoch=args.steps_per_epoch, seed=args.seed,
        device=args.device, amp=not args.no_amp, augment=AugmentConfig.preset(args.augment), **limits,
    )
    model_config = None if args.init else ModelConfig.from_preset(args.preset, arch=args.model, padding=args.padding)
    return model_config, train_config


def run(args: argparse.Namespace) -> int:
    """Under torchrun every rank runs this; one process group for the run (training/distributed.py)."""
    with process_group(args.device) as ranks:
        if ranks.active and args.watch:
            raise TrainingError("train --watch", "trains live in one process; run it without torchrun")
        return _run(args, ranks)


def _run(args: argparse.Namespace, ranks: DistributedRun) -> int:
    _check_watch(args)
    check_volume_args(args)
    model_config, train_config = configs_from_args(args)
    if args.project and (args.images or args.labels):
        raise TrainingError(args.project, "give either a project folder or --images/--labels, not both")
    if args.project and args.classes is not None:
        raise TrainingError(args.project, "--classes is for --labels folders; a project's classes are its own")
    if not args.project and not (args.images and args.labels and args.out):
        raise TrainingError("train", "needs a project folder, or --images DIR --labels DIR --out MODEL.pt")
    project = Project.open(args.project) if args.project else None
    target = Path(args.out) if args.out else project.new_model_path()
    link_problems = _check_inputs(args, project, target)
    stop = threading.Event()
    follower = follower_for(ranks, WatchFollower if args.watch else TrainingFollower, train_config, stop)
    with destination_for(ranks, target, args.overwrite) as destination:
        for line in link_problems:
            problem(line)
        if is_volume_run(args):
            events = iter_volume_run(args, destination.working_path, model_config, train_config, stop)
        elif args.watch:
            events = iter_train_watched(project, destination.working_path, target, model_config, train_config,
                                        args.init, stop, args.save_every)
        elif project is not None:
            events = iter_train_project(project, destination.working_path, model_config, train_config,
                                        init=args.init, stop=stop, register=False)
        else:
            events = iter_train_folders(args.images, args.labels, destination.working_path, model_config,
                                        train_config, labels_format=args.labels_format, init=args.init, stop=stop,
                                        n_classes=args.classes)
        try:
            finished = follower.follow(destination.publish(events))
        except StudioError as error:
            raise TrainingError(f"{error}; {_unchanged(target, destination)}") from error
        except KeyboardInterrupt:  # a second Ctrl+C: no waiting for the save
            info(f"stopped at once: {_unchanged(target, destination)}")
            raise
    if finished is not None and finished.checkpoint_path is not None and project is not None:
        project = Project.open(project.folder)  # as it is now: others may have saved into it meanwhile
        path = register_model(project, finished.checkpoint_path, f"{_arch(finished)} {target.stem.removeprefix('model-')}")
        info(f"model saved in the project as {path.stem} (now the active model)")
    skipped = follower.skipped + len(link_problems)
    if skipped:
        info(f"{skipped} input file(s) skipped (listed above)")
    if follower.signal is not None and not args.watch:  # a signal is how a --watch run ends
        return 128 + follower.signal
    saved = finished is not None and (finished.checkpoint_path is not None or not ranks.is_main)  # rank 0 saves
    if ranks.active and finished is not None and finished.interrupted:
        return 1  # a rank that ended on its own (out of memory): torchrun stops the ranks still waiting on it
    return 0 if saved and not skipped else 1


def _check_watch(args: argparse.Namespace) -> None:
    """--watch trains a project until stopped: refuse folders and limits (one line)."""
    if not args.watch:
        return
    if args.images or args.labels or not args.project:
        raise TrainingError("train --watch", "watches a project folder; --images/--labels folders are not "
                                             "watched (make a project, or train without --watch)")
    limits = [flag for flag, value in (("--max-seconds", args.max_seconds), ("--epochs", args.epochs),
                                       ("--max-steps", args.max_steps)) if value is not None]
    if limits:
        raise TrainingError("train --watch", f"runs until Ctrl+C or SIGTERM; leave out {', '.join(limits)}")
    if args.save_every <= 0:
        raise TrainingError("train --watch", f"--save-every must be positive (got {args.save_every:g})")


def _check_inputs(args: argparse.Namespace, project: Project | None, target: Path) -> list[str]:
    """Refuse an --out that is one of the training files; return the input links that lead nowhere."""
    if project is not None:
        inputs = [project.image_path(record.id) for record in project.images]
        folders = []
    else:
        folders = [args.images, args.labels]
        inputs = [path for folder in folders for path in list_images(folder)]
    resolved = target.resolve()
    if any(path.resolve() == resolved for path in inputs):
        raise TrainingError(target, "is one of the training images or labels; give another --out")
    return [line for folder in folders for line in unusable_links(folder)]


def _unchanged(target: Path, destination: ModelDestination) -> str:
    """The end of the error line: what became of the target and of the run's own checkpoint."""
    state = f"{target} is unchanged" if target.exists() else f"{target} was not written"
    leftover = destination.leftover()
    return state + (f"; the run's best checkpoint so far is {leftover}" if leftover else "")


def _arch(finished) -> str:
    return load_checkpoint(finished.checkpoint_path).model_config.arch
