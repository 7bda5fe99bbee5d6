"""Validation helpers: metric names, the 2-class threshold search, whole-image validation."""

import numpy as np
import pytest
import torch
from torch import nn

from unet_studio.data.sampling import TrainItem
from unet_studio.training.validation import THRESHOLDS, best_threshold, named_metrics, table_at_threshold, validate


def test_named_metrics_from_a_hand_made_confusion_matrix():
    # truth rows, prediction columns: background 8 right 2 wrong; cell 6 right, 2 missed; class 2 absent.
    table = np.array([[8, 2, 0], [2, 6, 0], [0, 0, 0]])
    metrics = named_metrics(table, ["background", "cell", "debris"])
    assert metrics["dice/background"] == pytest.approx(16 / 20)
    assert metrics["dice/cell"] == pytest.approx(12 / 16)
    assert metrics["iou/cell"] == pytest.approx(6 / 10)
    assert "dice/debris" not in metrics, "a class absent from truth and prediction has no score"
    assert metrics["mean_dice"] == pytest.approx(0.75) and metrics["mean_iou"] == pytest.approx(0.6)


def test_best_threshold_from_histograms():
    # bins: [<0.1, 0.1-0.2, ..., >=0.9]; objects all score 0.65-0.7, background below 0.6.
    fg = np.zeros(THRESHOLDS.size + 1, np.int64)
    bg = np.zeros_like(fg)
    fg[6] = 10
    bg[5] = 10
    threshold, dice = best_threshold(fg, bg)
    assert threshold == pytest.approx(0.6) and dice == pytest.approx(1.0)
    assert best_threshold(np.zeros_like(fg), bg)[1] == 0.0
    # every pixel at the same probability: the only threshold with objects calls all background an object
    same_fg, same_bg = np.zeros_like(fg), np.zeros_like(fg)
    same_fg[1], same_bg[1] = 10, 30
    assert best_threshold(same_fg, same_bg) == (None, 0.0)


class _Constant(nn.Module):
    """A 'model' whose foreground logit is the input pixel value: predictions are known in advance."""

    margin = 0

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return torch.cat([torch.zeros_like(x), x * self.scale * 8 - 2], dim=1)


def test_validate_scores_whole_images_and_ignores_unlabelled_pixels():
    image = np.zeros((1, 40, 40), np.float32)
    image[0, 10:20, 10:20] = 1.0
    target = (image[0] > 0).astype(np.int64)
    target[30:, 10:20] = 1
    target[30:, :] = -1  # unlabelled rows: must not count, whatever was there
    result = validate(_Constant(), [TrainItem(image, target)], tile=32, overlap=8, device=torch.device("cpu"),
                      precision="fp32", loss_kind="ce", class_weights=None, class_names=["background", "cell"])
    assert result.metrics["dice/cell"] == pytest.approx(1.0) and result.metrics["mean_dice"] == pytest.approx(1.0)
    assert 0.1 <= result.threshold <= 0.9
    expected = -np.mean(np.log(np.where(target[target >= 0] == 1, 1 / (1 + np.exp(-6)), 1 / (1 + np.exp(-2)))))
    assert result.loss == pytest.approx(expected, rel=1e-3)


def test_scribble_validation_keeps_the_argmax_instead_of_a_biased_threshold():
    image = np.zeros((1, 40, 40), np.float32)
    image[0, 10:20, 10:20] = 1.0
    target = np.full((40, 40), -1, np.int64)
    target[14:16, 12:18] = 1  # a scribble inside the object
    target[30:32, 5:35] = 0  # and one in the background: 6% of the pixels labelled
    result = validate(_Constant(), [TrainItem(image, target)], tile=32, overlap=8, device=torch.device("cpu"),
                      precision="fp32", loss_kind="ce", class_weights=None, class_names=["background", "cell"])
    assert result.threshold is None and result.metrics["dice/cell"] == pytest.approx(1.0)


def test_validate_scores_the_masks_of_the_threshold_and_flags_a_collapse():
    image = np.zeros((1, 40, 40), np.float32)
    image[0, 10:20, 10:20] = 1.0
    target = (image[0] > 0).astype(np.int64)
    run = dict(tile=32, overlap=8, device=torch.device("cpu"), precision="fp32", loss_kind="ce", class_weights=None,
               class_names=["background", "cell"])
    # background pixels have p1 = sigmoid(-2) = 0.12: at 0.1 every pixel is 'cell'
    flooded = validate(_Constant(), [TrainItem(image, target)], threshold=0.1, **run)
    assert flooded.threshold == 0.1 and flooded.collapsed_to == 1
    assert flooded.metrics["mean_dice"] == pytest.approx(2 * 100 / (100 + 1600))
    assert "dice/background" not in flooded.metrics or flooded.metrics["dice/background"] == 0.0
    searched = validate(_Constant(), [TrainItem(image, target)], **run)
    assert searched.collapsed_to is None and searched.metrics["mean_dice"] == pytest.approx(1.0)
    blind = validate(_Constant(), [TrainItem(np.zeros_like(image), target)], **run)
    assert blind.collapsed_to == 0 and blind.metrics.get("mean_dice", 0.0) == 0.0


def test_table_at_threshold_counts_what_the_threshold_predicts():
    fg = np.zeros(THRESHOLDS.size + 1, np.int64)
    bg = np.zeros_like(fg)
    fg[[3, 7]] = 5, 10  # object pixels at p1 in [0.3, 0.4) and [0.7, 0.8)
    bg[[1, 4]] = 20, 4  # background pixels at p1 in [0.1, 0.2) and [0.4, 0.5)
    assert table_at_threshold(fg, bg, 0.4).tolist() == [[20, 4], [5, 10]]
    assert table_at_threshold(fg, bg, 0.3).tolist() == [[20, 4], [0, 15]]
