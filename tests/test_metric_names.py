"""What each metric key means, pinned on one hand-computed case for every place that reports it: core
metrics, training validation (training line, checkpoint, Models panel, model card) and `evaluate`."""

import cv2
import numpy as np
import pytest

from unet_studio.cli.evaluate import evaluate_folders
from unet_studio.core.metrics import confusion, dice_iou_per_class, evaluate_pair
from unet_studio.training.validation import named_metrics

# truth/prediction with background 0 and object classes 1, 2 (one row of 8 pixels, by hand):
TRUTH = np.array([[0, 0, 0, 1, 1, 1, 2, 2]], np.uint8)
PRED = np.array([[0, 0, 1, 1, 1, 0, 2, 0]], np.uint8)
# class 1: tp 2, |truth| 3, |pred| 3 -> Dice 4/6, IoU 2/4; class 2: tp 1, |truth| 2, |pred| 1 -> Dice 2/3,
# IoU 1/2; background: tp 2, |truth| 3, |pred| 4 -> Dice 4/7 (never part of a mean)
MEAN_DICE = (4 / 6 + 2 / 3) / 2
MEAN_IOU = (2 / 4 + 1 / 2) / 2


def test_mean_dice_and_mean_iou_average_the_object_classes_only():
    scores = dice_iou_per_class(confusion(PRED, TRUTH, 3))
    assert scores["per_class"][0]["dice"] == pytest.approx(4 / 7)
    assert scores["mean_dice"] == pytest.approx(MEAN_DICE) and scores["mean_iou"] == pytest.approx(MEAN_IOU)


def test_validation_and_evaluate_report_the_same_keys_with_the_same_meaning(tmp_path):
    validation = named_metrics(confusion(PRED, TRUTH, 3), ["background", "cell", "debris"])
    assert validation["mean_dice"] == pytest.approx(MEAN_DICE) and validation["mean_iou"] == pytest.approx(MEAN_IOU)
    assert validation["dice/background"] == pytest.approx(4 / 7)
    assert evaluate_pair(PRED, TRUTH, 3)["mean_dice"] == pytest.approx(MEAN_DICE)
    for name, mask in (("pred", PRED), ("truth", TRUTH)):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "a.png"), mask)
    summary, problems = evaluate_folders(tmp_path / "pred", tmp_path / "truth")
    assert problems == [] and summary["mean"]["mean_dice"] == pytest.approx(MEAN_DICE)
    assert summary["mean"]["mean_iou"] == pytest.approx(MEAN_IOU)
    assert set(summary["mean"]) == {"mean_dice", "mean_iou", "pixel_error", "ap@0.5", "coco_ap@0.5"}
