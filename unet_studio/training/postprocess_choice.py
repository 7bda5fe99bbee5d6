"""Choosing a touching-border model's post-processing on its validation images (never on test images).

After training, the validation images that have instance labels are predicted once without and once with
test-time flips; whether objects are split again where their outline has a neck comes first (so that the rest
is chosen for it: chosen last, on one of three DSB dev runs it went off and that run scored lower), then the
foreground threshold, the seed level and the minimum object size are chosen in turn (a coordinate search:
2 + 5 + 4 + 4 settings instead of 160) by the mean DSB score (mAP over IoU
0.5:0.05:0.95) times the foreground Dice of the mask: mAP alone let a low threshold turn a whole background
into one object (a single false positive costs mAP little, and the real objects grew fuller), which an
under-trained DSB model (25-90 steps) took. Flips are kept on only when they raise that objective by at
least TTA_GAIN: they cost four predictions per image. The chosen values go into the checkpoint, and predict uses them unless overridden.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from unet_studio.core.metrics import average_precision, mean_average_precision
from unet_studio.data.sampling import TrainItem
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.postprocess import SEED_LEVEL, SHAPE_HEIGHT, border_prediction
from unet_studio.inference.tiling import predict_probabilities
from unet_studio.training.flip_choice import describe_flips

THRESHOLDS = (None, 0.4, 0.5, 0.6, 0.7)  # None: the network's argmax (postprocess.border_mask)
SEED_LEVELS = (0.3, 0.5, 0.7, 0.85)
MIN_SIZES = (0, 10, 20, 40)
SHAPE_HEIGHTS = (SHAPE_HEIGHT, None)  # None: no second split by shape
DEFAULT_MIN_SIZE = 15  # = predictor.MIN_INSTANCE_SIZE, the starting point of the search
TTA_GAIN = 0.01  # validation mAP the four flips must add to be on by default
TTA_TRIAL_LIMIT_S = 30.0  # no trial of flips when one plain pass over the validation images took longer


@dataclass(frozen=True)
class PostprocessChoice:
    """Settings chosen on validation images and what they scored there (mAP, AP@0.5), plus the seconds one
    pass over the images took without and with flips."""

    threshold: float | None
    seed_level: float
    min_size: int
    shape_height: float | None
    tta: bool
    val_map: float
    val_ap50: float
    val_dice: float
    n_images: int
    seconds_plain: float
    seconds_tta: float

    def to_dict(self) -> dict:
        return asdict(self)


def _score(probabilities: Sequence[np.ndarray], truths: Sequence[np.ndarray], threshold: float, seed_level: float,
           min_size: int, shape_height: float | None) -> tuple[float, float, float, float]:
    """(objective = mAP x Dice, mAP, AP@0.5, foreground Dice of the masks) over the images for one setting."""
    maps, aps, overlap, total = [], [], 0, 0
    for probs, truth in zip(probabilities, truths):
        mask, instances = border_prediction(probs, threshold, min_size, seed_level, shape_height=shape_height)
        maps.append(mean_average_precision(instances, truth))
        aps.append(average_precision(instances, truth, 0.5))
        overlap, total = overlap + int(((mask > 0) & (truth > 0)).sum()), total + int((mask > 0).sum() + (truth > 0).sum())
    dice = 2.0 * overlap / total if total else 1.0
    return float(np.mean(maps)) * dice, float(np.mean(maps)), float(np.mean(aps)), dice


def _search(probabilities, truths) -> tuple[dict, tuple[float, float, float, float]]:
    """(setting, (objective, mAP, AP@0.5, Dice)): each of shape_height, threshold, seed_level and min_size
    chosen in turn, the others held."""
    setting = {"threshold": None, "seed_level": SEED_LEVEL, "min_size": DEFAULT_MIN_SIZE, "shape_height": SHAPE_HEIGHT}
    best = _score(probabilities, truths, **setting)
    for name, values in (("shape_height", SHAPE_HEIGHTS), ("threshold", THRESHOLDS), ("seed_level", SEED_LEVELS),
                         ("min_size", MIN_SIZES)):
        for value in values:
            trial = {**setting, name: value}
            score = _score(probabilities, truths, **trial)
            if score[0] > best[0]:
                setting, best = trial, score
    return setting, best


def choose_postprocess(model: nn.Module, items: Sequence[TrainItem], *, tile: int, overlap: int,
                       device: torch.device, precision: str) -> PostprocessChoice | None:
    """The best settings on the items that have instance labels, or None when none has."""
    scored = [item for item in items if item.instances is not None and item.instances.any()]
    if not scored:
        return None
    truths = [item.instances for item in scored]
    results, seconds = {}, {False: 0.0, True: float("nan")}
    for tta in (False, True):
        if tta and seconds[False] > TTA_TRIAL_LIMIT_S:
            break  # four times that would keep the user waiting at the end of training
        start = time.perf_counter()
        config = PredictConfig(tile, overlap, tta=tta, precision=precision)
        probabilities = [predict_probabilities(model, item.image, config, device=device) for item in scored]
        seconds[tta] = time.perf_counter() - start
        results[tta] = _search(probabilities, truths)
    tta = True in results and results[True][1][0] >= results[False][1][0] + TTA_GAIN
    setting, (_, val_map, val_ap50, val_dice) = results[tta]
    return PostprocessChoice(**setting, tta=tta, val_map=val_map, val_ap50=val_ap50, val_dice=val_dice,
                             n_images=len(scored), seconds_plain=seconds[False], seconds_tta=seconds[True])


def describe_choice(choice: dict) -> str:
    """One line for the training log: what was chosen and what it scored."""
    if "seed_level" not in choice:
        return describe_flips(choice)
    threshold = "argmax" if choice["threshold"] is None else f"{choice['threshold']:g}"
    return (f"post-processing chosen on {choice['n_images']} validation image(s): threshold {threshold}, "
            f"seed level {choice['seed_level']:g}, minimum size {choice['min_size']} px, "
            f"{describe_shape_split(choice)}, flips "
            f"{'on' if choice['tta'] else 'off'} (validation mAP {choice['val_map']:.3f}, "
            f"AP@0.5 {choice['val_ap50']:.3f}, Dice {choice['val_dice']:.3f})")


def describe_shape_split(choice: dict) -> str:
    """How a chosen post-processing splits objects by shape after the border split (older files: not)."""
    height = choice.get("shape_height")
    return "no split by shape" if height is None else f"split by shape at {height:g} px"
