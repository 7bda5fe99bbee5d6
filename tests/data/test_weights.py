"""border_weight_map: the U-Net paper's class balance plus gap term, on hand-made shapes."""

import math

import numpy as np
import pytest

from unet_studio.data.weights import border_weight_map, class_weight_map


def _disc(shape, centre, radius):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def test_gap_between_two_bars_matches_the_formula():
    target = np.zeros((20, 30), np.int64)
    target[:, 5:10] = 1
    target[:, 13:18] = 1  # background gap is columns 10, 11, 12
    weights = border_weight_map(target, w0=10.0, sigma=5.0, class_balance=False)
    assert weights[7, 11] == pytest.approx(1 + 10 * math.exp(-((2 + 2) ** 2) / 50), rel=1e-5)
    assert weights[7, 10] == pytest.approx(1 + 10 * math.exp(-((1 + 3) ** 2) / 50), rel=1e-5)
    assert weights[7, 25] == pytest.approx(1 + 10 * math.exp(-((8 + 16) ** 2) / 50), rel=1e-5)
    assert (weights[target == 1] == 1).all()


def test_two_close_discs_weigh_most_in_the_gap():
    shape = (64, 96)
    target = np.zeros(shape, np.int64)
    target[_disc(shape, (32, 30), 12)] = 1
    target[_disc(shape, (32, 57), 12)] = 2  # 3-pixel gap around column 43
    weights = border_weight_map(target)
    row, col = np.unravel_index(np.argmax(weights), shape)
    assert 41 <= col <= 45 and 28 <= row <= 36
    background_weight = class_weight_map(target)[0, 0]
    assert weights.max() > background_weight + 8


def test_far_from_objects_weight_is_the_class_weight():
    shape = (100, 100)
    target = np.zeros(shape, np.int64)
    target[_disc(shape, (15, 15), 5)] = 1
    target[_disc(shape, (15, 35), 5)] = 1
    weights = border_weight_map(target)
    balance = class_weight_map(target)
    assert weights[90, 90] == balance[90, 90]
    np.testing.assert_array_equal(weights[60:, 60:], balance[60:, 60:])


def test_unlabelled_pixels_weigh_zero_and_one_object_has_no_gap_term():
    shape = (48, 48)
    target = np.full(shape, -1, np.int64)
    target[10:40, 10:40] = 0
    target[_disc(shape, (24, 24), 6)] = 1
    weights = border_weight_map(target)
    assert (weights[target == -1] == 0).all()
    np.testing.assert_array_equal(weights, class_weight_map(target))


def test_class_balance_by_hand():
    target = np.array([[0, 0, 0, 1], [-1, -1, 0, 0]])
    weights = class_weight_map(target)
    # 6 labelled pixels, 2 classes: background 6 / (2 * 5), object 6 / (2 * 1)
    np.testing.assert_allclose(weights, [[0.6, 0.6, 0.6, 3.0], [0, 0, 0.6, 0.6]], rtol=1e-6)
    np.testing.assert_array_equal(class_weight_map(target, class_balance=False), target >= 0)
    assert (class_weight_map(np.full((3, 3), -1)) == 0).all()


def test_membrane_gaps_weigh_the_thin_membrane_between_two_cells():
    target = np.zeros((20, 30), np.int64)
    target[:, 12:15] = 1  # a 3-pixel membrane between two cells (columns 0-11 and 15-29)
    target[:, 27:] = 1  # an edge membrane beside one cell only: the far cell adds next to nothing
    weights = border_weight_map(target, w0=10.0, sigma=5.0, class_balance=False, gaps="foreground")
    assert weights[7, 13] == pytest.approx(1 + 10 * math.exp(-((2 + 2) ** 2) / 50), rel=1e-5)
    assert weights[7, 12] == pytest.approx(1 + 10 * math.exp(-((1 + 3) ** 2) / 50), rel=1e-5)
    assert (weights[:, 28:] < 1.01).all() and (weights[target == 0] == 1).all()
    plain = border_weight_map(target, w0=10.0, sigma=5.0, class_balance=False)
    assert (plain[target == 1] == 1).all()  # the default reads membranes as the objects: cells get the gap term


def test_membrane_gaps_cells_are_four_connected_and_bad_gaps_refused():
    target = np.eye(12, dtype=np.int64)  # an 8-connected diagonal membrane still separates two cells
    weights = border_weight_map(target, w0=10.0, sigma=5.0, class_balance=False, gaps="foreground")
    assert (weights[target == 1] > 1).all() and (weights[target == 0] == 1).all()
    with pytest.raises(ValueError, match="gaps"):
        border_weight_map(target, gaps="membranes")
