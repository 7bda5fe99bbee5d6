"""`unet-studio train --model unet3d`: the 3-D U-Net on folders of multi-page TIFF volumes (train.py's hook)."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from pathlib import Path

from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.config import VOLUME_ARCHS, ModelConfig
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import TrainingEvent
from unet_studio.training.volume_api import DEFAULT_PATCH_DEPTH, DEFAULT_VOLUME_PATCH_SIZE, iter_train_volumes


def add_volume_options(parser: argparse.ArgumentParser) -> None:
    """The options only a 3-D run reads."""
    parser.add_argument("--patch-depth", type=int, default=DEFAULT_PATCH_DEPTH, metavar="PLANES",
                        help=f"unet3d: planes per 3-D patch (default {DEFAULT_PATCH_DEPTH})")
    parser.add_argument("--xy-pool-levels", type=int, metavar="N",
                        help="unet3d: the first N poolings halve only x and y (thin or sparse z); default: "
                             "chosen from --patch-depth so a patch keeps 2 planes at the bottleneck")


def _init_arch(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return load_checkpoint(path).model_config.arch
    except StudioError:  # reported where the 2-D path loads it
        return None


def is_volume_run(args: argparse.Namespace) -> bool:
    """--model unet3d, or --init with a 3-D checkpoint."""
    return getattr(args, "model", None) in VOLUME_ARCHS or _init_arch(getattr(args, "init", None)) in VOLUME_ARCHS


def patch_size(args: argparse.Namespace) -> int:
    """--patch-size, else the default for the kind of run (2-D 256, 3-D 96)."""
    given = getattr(args, "patch_size", None)
    if given is not None:
        return given
    return DEFAULT_VOLUME_PATCH_SIZE if is_volume_run(args) else TrainConfig.patch_size


def check_volume_args(args: argparse.Namespace) -> None:
    """Refuse, in one line, what a 3-D run cannot do."""
    if not is_volume_run(args):
        return
    refused = [(args.project, "a project (volumes train from --images DIR --labels DIR of multi-page TIFFs)"),
               (args.watch, "--watch"), (args.labels_format != "annotation", f"--labels-format {args.labels_format}"),
               (args.border_weight, "--border-weight"),
               (args.instance_target is not None, f"--instance-target {args.instance_target}")]
    for condition, what in refused:
        if condition:
            raise TrainingError("train --model unet3d", f"does not take {what}")
    if args.patch_depth < 1:
        raise TrainingError("train --model unet3d", f"--patch-depth must be at least 1 (got {args.patch_depth})")


def iter_volume_run(args: argparse.Namespace, working_path: Path, model_config: ModelConfig | None,
                    train_config: TrainConfig, stop: threading.Event) -> Iterator[TrainingEvent]:
    """The 3-D run's events, written to `working_path` (the ModelDestination's)."""
    return iter_train_volumes(args.images, args.labels, working_path, model_config, train_config,
                              patch_depth=args.patch_depth, init=args.init, stop=stop, n_classes=args.classes,
                              xy_pool_levels=args.xy_pool_levels)
