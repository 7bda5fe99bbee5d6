"""Validation after each epoch: whole-image prediction, loss, per-class Dice/IoU and a 2-class threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from unet_studio.core.instance_targets import BORDER_NAME, semantic_truth
from unet_studio.core.metrics import confusion, dice_iou_per_class, single_predicted_class
from unet_studio.data.sampling import TrainItem
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.postprocess import fold_border
from unet_studio.inference.tiling import Network, predict_probabilities
from unet_studio.training.losses import combined_loss

THRESHOLDS = np.round(np.arange(0.1, 0.91, 0.1), 2)


@dataclass(frozen=True)
class Validation:
    """Mean loss over the images, metrics ("dice/<class>", "iou/<class>", "mean_dice", "mean_iou" over
    object classes; classes absent from truth and prediction are left out) and, for 2-class models, the
    foreground-probability threshold with the best Dice. The metrics score the masks that threshold gives
    (argmax without one): the masks the Predictor makes from the saved checkpoint. `collapsed_to` is the one
    class every pixel of the validation images was predicted as (0: nothing found), else None."""

    loss: float
    metrics: dict[str, float]
    threshold: float | None
    collapsed_to: int | None = None


def named_metrics(table: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """Flat metric dict from a confusion matrix [truth, pred]; None scores are left out."""
    scores = dice_iou_per_class(table)
    metrics = {}
    for k, values in scores["per_class"].items():
        name = class_names[k] if k < len(class_names) else f"class {k}"
        for kind in ("dice", "iou"):
            if values[kind] is not None:
                metrics[f"{kind}/{name}"] = values[kind]
    for key in ("mean_dice", "mean_iou"):
        if scores[key] is not None:
            metrics[key] = scores[key]
    return metrics


def table_at_threshold(foreground_counts: np.ndarray, background_counts: np.ndarray, threshold: float) -> np.ndarray:
    """Confusion matrix [truth, pred] of the 2-class masks ``p1 >= threshold`` (threshold one of THRESHOLDS),
    from the histograms of `validate`."""
    cut = _cut(threshold)
    tp, fn = foreground_counts[cut:].sum(), foreground_counts[:cut].sum()
    fp, tn = background_counts[cut:].sum(), background_counts[:cut].sum()
    return np.array([[tn, fp], [fn, tp]], np.int64)


def _cut(threshold: float) -> int:
    """The first histogram bin at or above `threshold` (bins are cut at THRESHOLDS by searchsorted 'right')."""
    return int(np.searchsorted(THRESHOLDS, threshold, side="right"))


def best_threshold(foreground_counts: np.ndarray, background_counts: np.ndarray) -> tuple[float | None, float]:
    """(threshold, dice) maximising foreground Dice, from histograms of the foreground probability of true
    foreground / true background pixels over the bins cut at THRESHOLDS. A threshold that calls every
    labelled background pixel an object is never chosen (foreground Dice rewards that collapse: a model
    that cannot tell the classes apart would be saved as one that finds everything); (None, 0.0) when
    no threshold is left that finds any object (argmax decides then)."""
    at_or_above_fg = np.cumsum(foreground_counts[::-1])[::-1][1:]
    at_or_above_bg = np.cumsum(background_counts[::-1])[::-1][1:]
    total_fg, total_bg = foreground_counts.sum(), background_counts.sum()
    denominator = total_fg + at_or_above_fg + at_or_above_bg
    dice = np.where(denominator > 0, 2.0 * at_or_above_fg / np.maximum(denominator, 1), 0.0)
    if total_bg > 0:
        dice = np.where(at_or_above_bg < total_bg, dice, -1.0)
    best = int(np.argmax(dice))
    if dice[best] <= 0:
        return None, 0.0
    return float(THRESHOLDS[best]), float(dice[best])


DENSE_FRACTION = 0.5


def is_sparse(items: Sequence[TrainItem]) -> bool:
    """Whether the labels are scribbles: fewer than DENSE_FRACTION of all pixels labelled."""
    total = sum(item.target.size for item in items)
    return total > 0 and sum(int((item.target >= 0).sum()) for item in items) < DENSE_FRACTION * total


def validate(model: Network, items: Sequence[TrainItem], *, tile: int, overlap: int, device: torch.device,
             precision: str, loss_kind: str, class_weights: torch.Tensor | None,
             class_names: Sequence[str], threshold: float | None = None,
             border_class: int | None = None, tta: bool = False) -> Validation:
    """Predict every item whole (overlap-tiling), aggregate the confusion matrix over all of them. A given
    2-class `threshold` is used for the masks as it is (none is searched for). With `border_class` (the
    touching-border recipe's last output) the loss is on the network's outputs, the class scores on the
    folded class probabilities (what the Predictor's masks show), plus "dice/touching border". `tta`
    predicts with the four flips averaged."""
    table, losses, n_labelled, n_pixels = None, [], 0, 0
    fg_counts = np.zeros(THRESHOLDS.size + 1, np.int64)
    bg_counts = np.zeros_like(fg_counts)
    all_counts = np.zeros_like(fg_counts)  # every pixel, labelled or not: what the masks hold
    predicted = None  # pixels predicted per class
    fixed = threshold
    border_counts = np.zeros(3, np.int64)  # true positive, predicted, true border pixels
    for item in items:
        raw = predict_probabilities(model, item.image, PredictConfig(tile, overlap, tta=tta, precision=precision),
                                    device=device)
        probs, classes = raw, item.target
        if border_class is not None:
            probs, classes = fold_border(raw), semantic_truth(item.target, item.instances, border_class)
            said, true = raw.argmax(0) == border_class, item.target == border_class
            border_counts += (int((said & true).sum()), int((said & (item.target >= 0)).sum()), int(true.sum()))
        labelled = item.target >= 0
        n_labelled, n_pixels = n_labelled + int(labelled.sum()), n_pixels + labelled.size
        truth = np.where(labelled, classes, 0)
        mask = (probs[1] >= fixed).astype(np.int64) if fixed is not None and probs.shape[0] == 2 else probs.argmax(0)
        counts = confusion(mask, truth, probs.shape[0], ignore=~labelled)
        table = counts if table is None else table + counts
        per_class = np.bincount(mask.ravel(), minlength=probs.shape[0])
        predicted = per_class if predicted is None else predicted + per_class
        if labelled.any():
            log_probs = torch.from_numpy(np.log(np.maximum(raw, 1e-7)))[None]
            target = torch.from_numpy(item.target.astype(np.int64))[None]
            weights = None if class_weights is None else class_weights.cpu()
            losses.append(float(combined_loss(log_probs, target, loss_kind, class_weights=weights)))
        if probs.shape[0] == 2:
            bins = np.searchsorted(THRESHOLDS, probs[1], side="right")
            is_object = truth[labelled] == 1
            fg_counts += np.bincount(bins[labelled][is_object], minlength=fg_counts.size)
            bg_counts += np.bincount(bins[labelled][~is_object], minlength=bg_counts.size)
            all_counts += np.bincount(bins.ravel(), minlength=all_counts.size)
    # The threshold rule. Scribbles label the easy pixels far from boundaries; a threshold tuned on them is
    # biased, so only mostly labelled validation images choose one. Otherwise (scribbles, no validation)
    # the checkpoint keeps None: the argmax of the class-balanced network. Chosen on the dev slices of
    # benchmarks/scribble_styles.py: argmax stayed at or above the peer on every annotator style, while
    # the prior-corrected threshold (prior.py) fell 0.05 below it on one (strokes up to the boundary).
    dense = n_pixels > 0 and n_labelled >= DENSE_FRACTION * n_pixels
    if fixed is None and dense and fg_counts.sum():
        threshold = best_threshold(fg_counts, bg_counts)[0]
    if fixed is None and threshold is not None:
        table = table_at_threshold(fg_counts, bg_counts, threshold)
        cut = _cut(threshold)
        predicted = np.array([all_counts[:cut].sum(), all_counts[cut:].sum()])
    loss = float(np.mean(losses)) if losses else float("nan")
    collapsed = None if predicted is None else single_predicted_class(predicted)
    metrics = named_metrics(table, class_names)
    if border_class is not None and border_counts[1:].sum():
        metrics[f"dice/{BORDER_NAME}"] = float(2 * border_counts[0] / border_counts[1:].sum())
    return Validation(loss, metrics, threshold, collapsed)
