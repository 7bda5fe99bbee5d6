"""Validation helpers: metric names, the 2-class threshold search, whole-image validation."""

import numpy as np
import pytest
import torch
from torch import nn

from unet_studio.data.sampling import TrainItem
from unet_studio.training.validation import THRESHOLDS, best_threshold, named_metrics, validate


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
