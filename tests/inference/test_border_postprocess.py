"""The touching-border recipe's post-processing: folding the border output back, and instances from seeds."""

import numpy as np
import pytest

from unet_studio.core.instance_targets import touching_border
from unet_studio.core.metrics import average_precision
from unet_studio.inference.postprocess import (
    SHAPE_HEIGHT, border_instances, border_prediction, drop_small_instances, fold_border, mask_to_instances,
    probabilities_to_mask, split_by_shape,
)


def touching_discs(size=(48, 64), radius=12, gap=9):
    """Truth ids of two discs whose centres are `gap` px apart (each pixel to its nearer centre), and the
    probabilities a touching-border network that learnt them would give: background 0.9 outside, interior
    0.9 inside, border 0.8 on the touching band."""
    yy, xx = np.mgrid[:size[0], :size[1]]
    cy, left = size[0] // 2, size[1] // 2 - gap / 2
    d1 = np.hypot(yy - cy, xx - left)
    d2 = np.hypot(yy - cy, xx - left - gap)
    ids = np.where((d1 <= radius) | (d2 <= radius), np.where(d1 <= d2, 1, 2), 0).astype(np.uint16)
    border = touching_border(ids, 2)
    probs = np.full((3,) + size, 0.05, np.float32)
    probs[0][ids == 0] = 0.9
    probs[1][(ids > 0) & ~border] = 0.9
    probs[2][border] = 0.9
    probs /= probs.sum(axis=0, keepdims=True)
    return ids, probs


def test_fold_gives_the_border_to_the_object_classes():
    probs = np.array([[[0.2]], [[0.1]], [[0.3]], [[0.4]]], np.float32)  # background, class 1, class 2, border
    folded = fold_border(probs)
    np.testing.assert_allclose(folded[:, 0, 0], [0.2, 0.1 + 0.4 * 0.25, 0.3 + 0.4 * 0.75])
    np.testing.assert_allclose(fold_border(probs[[0, 1, 3]])[:, 0, 0], [0.2, 0.5])
    _, discs = touching_discs()
    np.testing.assert_allclose(fold_border(discs).sum(axis=0), 1.0, atol=1e-6)


def test_border_recipe_splits_touching_discs_that_the_plain_recipe_merges():
    ids, probs = touching_discs()
    folded = fold_border(probs)
    plain = mask_to_instances(probabilities_to_mask(folded), folded)
    assert plain.max() == 1  # the neck is too wide for the distance transform's seeds
    mask, instances = border_prediction(probs, threshold=0.5, min_size=15)
    assert instances.max() == 2 and average_precision(instances, ids) == 1.0
    assert average_precision(plain, ids) == 0.5  # the merged object matches one disc: 1 TP, 1 FN
    np.testing.assert_array_equal(mask, ids > 0)
    np.testing.assert_array_equal(instances > 0, ids > 0)  # the border band is given back to the objects


def test_a_lone_object_stays_one_and_a_piece_without_a_seed_is_still_an_object():
    ids, probs = touching_discs(gap=40)
    assert border_prediction(probs)[1].max() == 2
    faint = probs.copy()
    faint[1][ids == 2], faint[2][ids == 2] = 0.45, 0.45  # object, but no pixel reaches the seed level
    faint /= faint.sum(axis=0, keepdims=True)
    mask = probabilities_to_mask(fold_border(faint))
    assert border_instances(faint, mask, seed_level=0.5).max() == 2


def missed_border(probs):
    """The probabilities of a network that did not see the border: its share went to the object."""
    missed = probs.copy()
    missed[1] += missed[2]
    missed[2] = 0.0
    return missed


def test_the_split_by_shape_parts_touching_objects_whose_border_was_missed_at_their_neck():
    ids, probs = touching_discs(gap=18)  # radius 12, a neck 16 px wide
    missed = missed_border(probs)
    assert border_prediction(missed)[1].max() == 1
    mask, instances = border_prediction(missed, shape_height=SHAPE_HEIGHT)
    assert instances.max() == 2 and average_precision(instances, ids) == 1.0
    np.testing.assert_array_equal(instances > 0, mask > 0)  # the split only relabels, it adds or drops nothing


def test_the_split_by_shape_leaves_round_objects_and_their_neighbours_whole():
    ids, probs = touching_discs(gap=9)  # the wide neck: only the predicted border parts these two
    _, instances = border_prediction(probs, shape_height=SHAPE_HEIGHT)
    assert instances.max() == 2 and average_precision(instances, ids) == 1.0
    lone = np.zeros((40, 40), np.int64)
    lone[8:32, 10:30] = 4
    np.testing.assert_array_equal(split_by_shape(lone, SHAPE_HEIGHT), lone)


def test_small_pieces_go_with_min_size():
    instances = np.zeros((10, 10), np.uint16)
    instances[:4, :4], instances[8:, 8:] = 3, 5
    kept = drop_small_instances(instances, 5)
    assert kept.max() == 1 and (kept > 0).sum() == 16
    assert drop_small_instances(instances, 0) is instances


@pytest.mark.parametrize("classes", [1, 2])
def test_instances_never_span_two_classes(classes):
    ids, probs = touching_discs()
    if classes == 2:
        split = np.zeros((4,) + probs.shape[1:], np.float32)
        split[0], split[3] = probs[0], probs[2]
        split[1][ids == 1], split[2][ids == 2] = probs[1][ids == 1], probs[1][ids == 2]
        split[1][ids == 0] = split[2][ids == 0] = probs[1][ids == 0] / 2
        probs = split
    mask, instances = border_prediction(probs)
    assert instances.max() == 2
    for label in (1, 2):
        assert np.unique(mask[instances == label]).size == 1
