"""Metrics against hand-computed tables, empty cases and permuted instance ids."""

import json

import numpy as np
import pytest

from unet_studio.core.metrics import (
    average_precision,
    cell_rand_error,
    confusion,
    dice_iou_per_class,
    evaluate_pair,
    instance_iou_pairs,
    match_instances,
    pixel_error,
)

PRED = np.array([[0, 0, 1, 1], [0, 2, 2, 1]])
TRUTH = np.array([[0, 1, 1, 1], [0, 2, 0, 2]])


def test_confusion_counts_truth_rows_pred_columns():
    expected = np.array([[2, 0, 1], [1, 2, 0], [0, 1, 1]])
    np.testing.assert_array_equal(confusion(PRED, TRUTH, 3), expected)


def test_confusion_skips_ignored_pixels():
    ignore = np.zeros_like(TRUTH, bool)
    ignore[1, 2:] = True  # drops one (truth 0, pred 2) and one (truth 2, pred 1)
    expected = np.array([[2, 0, 0], [1, 2, 0], [0, 0, 1]])
    np.testing.assert_array_equal(confusion(PRED, TRUTH, 3, ignore=ignore), expected)


def test_confusion_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        confusion(PRED, TRUTH[:, :3], 3)
    with pytest.raises(ValueError, match="outside 0..1"):
        confusion(PRED, TRUTH, 2)


def test_dice_iou_hand_computed():
    scores = dice_iou_per_class(confusion(PRED, TRUTH, 3))
    # class 0: tp 2, truth 3, pred 3; class 1: tp 2, truth 3, pred 3; class 2: tp 1, truth 2, pred 2
    assert scores["per_class"][0] == {"dice": pytest.approx(4 / 6), "iou": pytest.approx(2 / 4), "support": 3}
    assert scores["per_class"][2]["dice"] == pytest.approx(2 / 4)
    assert scores["per_class"][2]["iou"] == pytest.approx(1 / 3)
    # the means are over the object classes 1 and 2 only, never background
    assert scores["mean_dice"] == pytest.approx((4 / 6 + 2 / 4) / 2)
    assert scores["mean_iou"] == pytest.approx((2 / 4 + 1 / 3) / 2)
    assert set(scores) == {"per_class", "mean_dice", "mean_iou"}
    assert pixel_error(confusion(PRED, TRUTH, 3)) == pytest.approx(3 / 8)


def test_class_absent_from_both_sides_is_none_and_skipped():
    mask = np.array([[0, 1], [1, 0]])
    scores = dice_iou_per_class(confusion(mask, mask, 3))
    assert scores["per_class"][2] == {"dice": None, "iou": None, "support": 0}
    assert scores["mean_dice"] == 1.0 and scores["mean_iou"] == 1.0


def test_nothing_counted_gives_none_means():
    table = confusion(PRED, TRUTH, 3, ignore=np.ones_like(TRUTH, bool))
    scores = dice_iou_per_class(table)
    assert scores["mean_dice"] is None and pixel_error(table) is None


def _discs(shape, centres, radius, ids=None):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    labels = np.zeros(shape, np.uint16)
    for index, (cy, cx) in enumerate(centres):
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = index + 1 if ids is None else ids[index]
    return labels


def test_instance_iou_pairs_hand_computed():
    truth = np.zeros((4, 8), np.uint16)
    truth[:, :4] = 1  # 16 px
    pred = np.zeros_like(truth)
    pred[:, 2:6] = 7  # 16 px, 8 shared with the true object
    p_idx, t_idx, iou, n_pred, n_true = instance_iou_pairs(pred, truth)
    assert (n_pred, n_true) == (1, 1)
    assert p_idx.tolist() == [0] and t_idx.tolist() == [0]
    assert iou[0] == pytest.approx(8 / 24)


def test_average_precision_counts_tp_fp_fn():
    truth = _discs((64, 64), [(10, 10), (10, 40), (40, 20)], 6)
    pred = _discs((64, 64), [(10, 11), (40, 20), (50, 50)], 6)  # two matches, one false positive
    match = match_instances(pred, truth, 0.5)
    assert (match.true_positives, match.false_positives, match.false_negatives) == (2, 1, 1)
    assert match.average_precision == pytest.approx(2 / 4)
    assert match.precision == pytest.approx(2 / 3) and match.recall == pytest.approx(2 / 3)
    assert match.f1 == pytest.approx(2 / 3)


def test_permuted_instance_ids_give_identical_ap():
    truth = _discs((64, 64), [(10, 10), (10, 40), (40, 20), (45, 50)], 6)
    pred = _discs((64, 64), [(11, 10), (10, 42), (40, 20), (30, 30)], 6)
    permuted = _discs((64, 64), [(11, 10), (10, 42), (40, 20), (30, 30)], 6, ids=[900, 3, 65000, 17])
    for threshold in (0.3, 0.5, 0.75):
        assert average_precision(permuted, truth, threshold) == average_precision(pred, truth, threshold)


def test_low_threshold_matching_is_one_to_one():
    truth = np.zeros((2, 8), np.uint16)
    truth[:, :4], truth[:, 4:] = 1, 2
    pred = np.ones_like(truth)  # one object covering both: IoU 0.5 with each
    match = match_instances(pred, truth, 0.5)
    assert (match.true_positives, match.false_positives, match.false_negatives) == (1, 0, 1)


@pytest.mark.parametrize(
    ("pred_empty", "truth_empty", "expected"),
    [(True, True, 1.0), (True, False, 0.0), (False, True, 0.0)],
)
def test_empty_instance_images(pred_empty, truth_empty, expected):
    objects = _discs((32, 32), [(16, 16)], 5)
    empty = np.zeros_like(objects)
    pred = empty if pred_empty else objects
    truth = empty if truth_empty else objects
    match = match_instances(pred, truth)
    assert match.average_precision == expected and match.f1 == expected


def test_empty_masks_score_perfect_or_zero():
    empty = np.zeros((8, 8), np.uint8)
    full = np.ones((8, 8), np.uint8)
    both_empty = evaluate_pair(empty, empty, 2)
    assert both_empty["mean_dice"] is None and both_empty["per_class"]["0"]["dice"] == 1.0
    assert both_empty["pixel_error"] == 0.0
    one_empty = evaluate_pair(empty, full, 2)
    assert one_empty["per_class"]["1"]["dice"] == 0.0 and one_empty["pixel_error"] == 1.0


def test_evaluate_pair_is_json_ready_with_instances():
    truth = _discs((64, 64), [(10, 10), (40, 40)], 6)
    pred = _discs((64, 64), [(10, 10), (40, 41)], 6)
    result = evaluate_pair(
        (pred > 0).astype(np.uint8), (truth > 0).astype(np.uint8), 2, pred_instances=pred, true_instances=truth
    )
    assert result["ap@0.5"] == 1.0 and result["n_pred"] == 2 and result["n_true"] == 2
    assert result["ap@0.9"] < 1.0
    assert 0.9 < result["mean_dice"] < 1.0
    json.dumps(result)


def test_mean_average_precision_averages_ap_over_iou_half_to_095():
    from unet_studio.core.metrics import MAP_THRESHOLDS, mean_average_precision

    assert MAP_THRESHOLDS[0] == 0.5 and MAP_THRESHOLDS[-1] == 0.95 and len(MAP_THRESHOLDS) == 10
    truth = np.zeros((5, 10), np.uint16)
    truth[:, :5] = 1  # 25 pixels
    pred = np.zeros_like(truth)
    pred[:3, :5] = 3  # rows 0-2: 15 pixels
    pred[3, :3] = 3  # 18 pixels, all inside: IoU 0.72 -> matched at 0.5 .. 0.7 (5 of 10 thresholds)
    assert mean_average_precision(pred, truth) == pytest.approx(0.5)
    assert mean_average_precision(truth, truth) == 1.0
    assert mean_average_precision(np.zeros_like(truth), truth) == 0.0
    assert mean_average_precision(np.zeros_like(truth), np.zeros_like(truth)) == 1.0


def _cells(*walls_at: int, size: int = 12, thickness: int = 1) -> np.ndarray:
    """A membrane mask (1 = membrane) of vertical walls at the given columns: the cells lie between them."""
    mask = np.zeros((size, size), np.uint8)
    for column in walls_at:
        mask[:, column : column + thickness] = 1
    return mask


def test_cell_rand_error_is_zero_for_the_same_cells():
    truth = _cells(4, 8)
    assert cell_rand_error(truth, truth) == 0.0
    assert cell_rand_error(_cells(3, 7, thickness=3), truth) == 0.0  # thicker membranes, same cells


def test_cell_rand_error_counts_a_merge_and_a_split():
    truth = _cells(4, 8)
    merged = cell_rand_error(_cells(4), truth)  # the wall at 8 missed: two cells become one
    split = cell_rand_error(_cells(2, 4, 8), truth)  # an extra wall cuts one cell in two
    assert merged > 0 and split > 0
    assert cell_rand_error(_cells(), truth) > merged  # no membrane at all: all three cells merged


def test_cell_rand_error_four_connected_cells_and_empty_truth():
    diagonal = np.eye(6, dtype=np.uint8)  # an 8-connected membrane still separates 4-connected cells
    assert cell_rand_error(diagonal, diagonal) == 0.0
    assert cell_rand_error(np.zeros((6, 6), np.uint8), diagonal) > 0
    assert cell_rand_error(np.zeros((6, 6)), np.ones((6, 6))) is None
    with pytest.raises(ValueError):
        cell_rand_error(np.zeros((6, 6)), np.zeros((5, 6)))
