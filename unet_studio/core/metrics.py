"""Segmentation metrics on numpy label images: semantic (confusion, Dice, IoU) and instance (AP).

Conventions: semantic masks hold class values 0..n_classes-1 (0 = background); instance images hold
0 = background and any positive ids (they need not be sequential). The confusion matrix is indexed
``[truth, pred]``. Empty cases are defined, never NaN:

* a class absent from both prediction and truth has Dice/IoU ``None`` and is left out of the means;
* instance scores with no objects on either side are perfect (1.0), with objects on one side only 0.0.

Shape or value mistakes are programming errors here and raise ``ValueError``; callers that know the file
names (``evaluate``) turn them into one-line ``StudioError`` messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from skimage.metrics import adapted_rand_error
from skimage.segmentation import expand_labels, relabel_sequential


def _check_same_shape(pred: np.ndarray, truth: np.ndarray) -> None:
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from truth shape {truth.shape}")


def confusion(pred: np.ndarray, truth: np.ndarray, n_classes: int, ignore: np.ndarray | None = None) -> np.ndarray:
    """Counts of pixels per (truth class, predicted class): int64 ``(n_classes, n_classes)``.

    ``ignore`` is a boolean mask of pixels left out (e.g. unlabelled pixels of a sparse annotation).
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    _check_same_shape(pred, truth)
    pred, truth = pred.ravel(), truth.ravel()
    if ignore is not None:
        ignore = np.asarray(ignore, bool)
        if ignore.size != truth.size:
            raise ValueError(f"ignore mask has {ignore.size} pixels, the masks {truth.size}")
        keep = ~ignore.ravel()
        pred, truth = pred[keep], truth[keep]
    for name, values in (("prediction", pred), ("truth", truth)):
        if values.size and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(f"{name} holds values outside 0..{n_classes - 1}")
    codes = truth.astype(np.int64) * n_classes + pred.astype(np.int64)
    return np.bincount(codes, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def dice_iou_per_class(table: np.ndarray) -> dict:
    """Dice and IoU of every class from a confusion matrix, plus their means over the object classes.

    Returns ``{"per_class": {k: {"dice", "iou", "support"}}, "mean_dice", "mean_iou"}``. ``mean_dice`` and
    ``mean_iou`` average the object classes 1.. only (background, class 0, is never in a mean: this is what
    the two keys mean everywhere: validation, quality check, model card, ``evaluate``). A class absent from
    both sides gets ``None`` and is skipped by the means; a mean over no classes is ``None``.
    """
    table = np.asarray(table, np.int64)
    tp = np.diag(table)
    truth_total = table.sum(axis=1)
    pred_total = table.sum(axis=0)
    per_class = {}
    for k in range(table.shape[0]):
        union = int(truth_total[k] + pred_total[k] - tp[k])
        if union == 0:
            per_class[k] = {"dice": None, "iou": None, "support": 0}
            continue
        per_class[k] = {
            "dice": 2.0 * float(tp[k]) / float(truth_total[k] + pred_total[k]),
            "iou": float(tp[k]) / union,
            "support": int(truth_total[k]),
        }
    return {
        "per_class": per_class,
        "mean_dice": _mean(v["dice"] for k, v in per_class.items() if k > 0),
        "mean_iou": _mean(v["iou"] for k, v in per_class.items() if k > 0),
    }


def _mean(values) -> float | None:
    present = [float(v) for v in values if v is not None]
    return float(np.mean(present)) if present else None


def single_predicted_class(predicted_counts) -> int | None:
    """The one class every predicted pixel belongs to (``predicted_counts[k]`` = pixels predicted as class k),
    or None when two or more classes were predicted or nothing was. 0 = a model that finds nothing; k > 0 = a
    model that calls everything class k: both are collapsed and get the same warning."""
    counts = np.asarray(predicted_counts).ravel()
    present = np.flatnonzero(counts)
    return int(present[0]) if present.size == 1 else None


def collapse_warning(model_name: str, class_name: str, background: bool) -> str:
    """The one-line warning for a collapsed model (see :func:`single_predicted_class`), worded the same
    whether it collapsed to background (finds nothing) or to one object class (finds everything)."""
    found = "no objects" if background else "no background"
    return (f"{model_name} predicts every pixel of the validation images as {class_name} ({found}): "
            "label more of each class or train longer")


def pixel_error(table: np.ndarray) -> float | None:
    """Fraction of counted pixels whose class is wrong (1 - accuracy); ``None`` when nothing was counted."""
    table = np.asarray(table, np.int64)
    total = int(table.sum())
    if total == 0:
        return None
    return 1.0 - float(np.trace(table)) / total


def cell_rand_error(pred_mask: np.ndarray, true_mask: np.ndarray, membrane: int = 1) -> float | None:
    """The ISBI 2012 Rand error of a membrane prediction: scikit-image's adapted Rand error (1 - F-score of
    the Rand precision and recall) between the cells, the 4-connected regions that are not ``membrane``.

    Truth membrane pixels are not counted (the challenge's foreground-restricted measure). Predicted membrane
    pixels join their nearest predicted cell, so a prediction is judged by which cells it separates or
    merges, not by how thick it draws their membranes. 0 = the same cells; ``None`` when the truth has no
    cell pixel (nothing to count).
    """
    pred_mask, true_mask = np.asarray(pred_mask), np.asarray(true_mask)
    _check_same_shape(pred_mask, true_mask)
    true_cells, n_true = ndimage.label(true_mask != membrane)
    if n_true == 0:
        return None
    pred_cells, _ = ndimage.label(pred_mask != membrane)
    pred_cells = expand_labels(pred_cells, distance=max(pred_mask.shape))
    error, _, _ = adapted_rand_error(true_cells, pred_cells, ignore_labels=(0,))
    return float(error)


def instance_iou_pairs(pred_instances: np.ndarray, true_instances: np.ndarray):
    """Sparse IoU table of overlapping instance pairs.

    Returns ``(pred_index, true_index, iou, n_pred, n_true)`` where indices run 0..n-1 over the objects
    after sequential relabelling (so arbitrary, permuted or sparse ids are fine). Only pairs that share at
    least one pixel are listed, so memory follows the number of overlaps, not n_pred * n_true.
    """
    _check_same_shape(pred_instances, true_instances)
    pred_seq, _, _ = relabel_sequential(np.asarray(pred_instances).astype(np.int64, copy=False))
    true_seq, _, _ = relabel_sequential(np.asarray(true_instances).astype(np.int64, copy=False))
    n_pred, n_true = int(pred_seq.max(initial=0)), int(true_seq.max(initial=0))
    pred_area = np.bincount(pred_seq.ravel(), minlength=n_pred + 1)
    true_area = np.bincount(true_seq.ravel(), minlength=n_true + 1)
    both = (pred_seq > 0) & (true_seq > 0)
    codes = pred_seq[both] * (n_true + 1) + true_seq[both]
    pairs, intersection = np.unique(codes, return_counts=True)
    p_id, t_id = np.divmod(pairs, n_true + 1)
    union = pred_area[p_id] + true_area[t_id] - intersection
    return p_id - 1, t_id - 1, intersection / union, n_pred, n_true


@dataclass(frozen=True)
class InstanceMatch:
    """Counts of one-to-one matches between predicted and true objects at one IoU threshold."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def average_precision(self) -> float:
        """TP / (TP + FP + FN), the DSB 2018 / cellpose 'AP'; 1.0 when there are no objects at all."""
        return _ratio(self.true_positives, self.true_positives + self.false_positives + self.false_negatives)

    @property
    def precision(self) -> float:
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.true_positives, 2 * self.true_positives + self.false_positives + self.false_negatives)


def _ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator, with 0 / 0 read as perfect: nothing to find and nothing found."""
    return 1.0 if denominator == 0 else numerator / denominator


def match_instances(pred_instances: np.ndarray, true_instances: np.ndarray, iou_threshold: float = 0.5) -> InstanceMatch:
    """Match objects one-to-one where IoU >= ``iou_threshold``, maximising the number of matches.

    Above 0.5 every object can overlap at most one partner that much, so matching is direct. At or below
    0.5 an optimal assignment (Hungarian) is solved over the objects that have a candidate partner.
    """
    p_idx, t_idx, iou, n_pred, n_true = instance_iou_pairs(pred_instances, true_instances)
    keep = iou >= iou_threshold
    p_idx, t_idx, iou = p_idx[keep], t_idx[keep], iou[keep]
    if iou_threshold > 0.5 or p_idx.size == 0:
        tp = int(p_idx.size)
    else:
        # Objects with one candidate partner each match directly; only the rest (ties at IoU 0.5) need
        # the assignment, so its dense matrix stays small even with thousands of objects.
        alone = (np.bincount(p_idx)[p_idx] == 1) & (np.bincount(t_idx)[t_idx] == 1)
        direct = int(np.count_nonzero(alone))
        p_idx, t_idx, iou = p_idx[~alone], t_idx[~alone], iou[~alone]
        if p_idx.size == 0:
            return InstanceMatch(direct, n_pred - direct, n_true - direct)
        rows, p_local = np.unique(p_idx, return_inverse=True)
        cols, t_local = np.unique(t_idx, return_inverse=True)
        gain = np.zeros((rows.size, cols.size))
        # 1 per match dominates; the IoU term (summing to < 1) only breaks ties between equal counts.
        gain[p_local, t_local] = 1.0 + iou / (min(rows.size, cols.size) + 1)
        chosen_rows, chosen_cols = linear_sum_assignment(gain, maximize=True)
        tp = direct + int(np.count_nonzero(gain[chosen_rows, chosen_cols] > 0))
    return InstanceMatch(tp, n_pred - tp, n_true - tp)


def average_precision(pred_instances: np.ndarray, true_instances: np.ndarray, iou_threshold: float = 0.5) -> float:
    """DSB 2018 / cellpose average precision TP / (TP + FP + FN) at one IoU threshold."""
    return match_instances(pred_instances, true_instances, iou_threshold).average_precision


MAP_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.5, 0.55, ..., 0.95 (DSB 2018)


def mean_average_precision(pred_instances: np.ndarray, true_instances: np.ndarray,
                           iou_thresholds: tuple[float, ...] = MAP_THRESHOLDS) -> float:
    """The DSB 2018 score of one image: average_precision averaged over ``iou_thresholds`` (0.5:0.05:0.95).
    Above IoU 0.5 matches are unique, so those thresholds share one IoU table; 0.5 and below are matched
    by :func:`match_instances`."""
    _, _, iou, n_pred, n_true = instance_iou_pairs(pred_instances, true_instances)
    scores = []
    for threshold in iou_thresholds:
        if threshold > 0.5:
            tp = int(np.count_nonzero(iou >= threshold))
            scores.append(_ratio(tp, n_pred + n_true - tp))
        else:
            scores.append(average_precision(pred_instances, true_instances, threshold))
    return float(np.mean(scores))


def evaluate_pair(
    pred_mask: np.ndarray,
    true_mask: np.ndarray,
    n_classes: int,
    pred_instances: np.ndarray | None = None,
    true_instances: np.ndarray | None = None,
    ignore: np.ndarray | None = None,
    iou_thresholds: tuple[float, ...] = (0.5, 0.75, 0.9),
) -> dict:
    """All metrics of one image as a JSON-ready dict.

    Semantic scores come from the masks; instance scores (``ap@<t>`` per threshold, and precision, recall,
    F1 and counts at the first threshold) are added only when both instance images are given.
    """
    table = confusion(pred_mask, true_mask, n_classes, ignore)
    scores = dice_iou_per_class(table)
    result = {
        "per_class": {str(k): v for k, v in scores.pop("per_class").items()},
        **scores,
        "pixel_error": pixel_error(table),
        "confusion": table.tolist(),
    }
    if pred_instances is not None and true_instances is not None:
        for position, threshold in enumerate(iou_thresholds):
            match = match_instances(pred_instances, true_instances, threshold)
            result[f"ap@{threshold:g}"] = match.average_precision
            if position == 0:
                result.update(
                    precision=match.precision,
                    recall=match.recall,
                    f1=match.f1,
                    n_true_positive=match.true_positives,
                    n_pred=match.true_positives + match.false_positives,
                    n_true=match.true_positives + match.false_negatives,
                )
    return result
