"""COCO-style average precision of instance label images, beside the DSB 2018 'AP' of `core.metrics`.

The two differ. The DSB 2018 measure (`metrics.average_precision`, the JSON key "ap@0.5") is TP / (TP + FP + FN)
of a one-to-one matching, averaged per image. COCO's (pycocotools' COCOeval, key "coco_ap@0.5" here) matches
each detection greedily in score order to the unmatched true object it overlaps most (IoU >= the threshold),
pools the detections of every image, and averages the interpolated precision at 101 recall points. With no
scores (label images) every object scores 1 and the order is the label order, as pycocotools keeps it for equal
scores. COCO caps detections at 100 per image by default; here every detection counts unless
`max_detections` says otherwise (nuclei images often hold more than 100). `tests/test_export_readers.py`
checks that pycocotools gives the same number on the same objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unet_studio.core.metrics import instance_iou_pairs

RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class CocoMatches:
    """One image's detections: their scores, whether each matched a true object, and the true objects' count."""

    scores: np.ndarray
    matched: np.ndarray
    n_true: int


def coco_matches(pred_instances: np.ndarray, true_instances: np.ndarray, iou_threshold: float = 0.5,
                 scores: Sequence[float] | None = None, max_detections: int | None = None) -> CocoMatches:
    """COCOeval's greedy matching on one image. `scores` (one per predicted object, in label order) rank the
    detections; without them every detection scores 1 and keeps its label order."""
    p_idx, t_idx, iou, n_pred, n_true = instance_iou_pairs(pred_instances, true_instances)
    scores = np.ones(n_pred) if scores is None else np.asarray(scores, np.float64)
    if scores.shape != (n_pred,):
        raise ValueError(f"{scores.size} scores for {n_pred} predicted objects")
    order = np.argsort(-scores, kind="mergesort")[: max_detections]
    by_pred = np.argsort(p_idx, kind="mergesort")
    starts = np.searchsorted(p_idx[by_pred], np.arange(n_pred + 1))
    true_taken = np.zeros(n_true, bool)
    matched = np.zeros(order.size, bool)
    floor = min(iou_threshold, 1 - 1e-10)
    for rank, detection in enumerate(order):
        pairs = by_pred[starts[detection] : starts[detection + 1]]
        best, best_iou = -1, floor
        pairs = pairs[np.argsort(t_idx[pairs], kind="mergesort")]  # true objects in label order, as COCOeval
        for truth, value in zip(t_idx[pairs], iou[pairs]):
            if true_taken[truth] or value < best_iou:
                continue
            best, best_iou = truth, value
        if best >= 0:
            true_taken[best] = True
            matched[rank] = True
    return CocoMatches(scores[order], matched, n_true)


def coco_average_precision(images: Sequence[CocoMatches]) -> float:
    """AP over all images' pooled detections (101-point interpolated precision, as COCOeval). No true objects:
    1.0 when nothing was detected either, else 0.0 (COCOeval reports -1, undefined)."""
    n_true = sum(image.n_true for image in images)
    scores = np.concatenate([image.scores for image in images]) if images else np.zeros(0)
    matched = np.concatenate([image.matched for image in images]) if images else np.zeros(0, bool)
    if n_true == 0:
        return 1.0 if scores.size == 0 else 0.0
    if scores.size == 0:
        return 0.0
    order = np.argsort(-scores, kind="mergesort")
    true_positives = np.cumsum(matched[order])
    false_positives = np.cumsum(~matched[order])
    recall = true_positives / n_true
    precision = true_positives / (true_positives + false_positives + np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the envelope: best precision at this recall or more
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.zeros_like(RECALL_POINTS)
    reached = at < precision.size
    sampled[reached] = precision[at[reached]]
    return float(sampled.mean())
