"""Touching-border targets from hand-made instance images, and the recipe the checkpoint records."""

import numpy as np
import pytest

from unet_studio.core.instance_targets import (
    SEMANTIC, TOUCHING_BORDER, TargetRecipe, add_border_class, semantic_truth, target_from_instances,
    touching_border,
)


def two_touching_squares():
    """Object 1 in columns 0..9, object 2 in columns 10..19, both rows 5..14, of a 20 x 30 image."""
    ids = np.zeros((20, 30), np.uint16)
    ids[5:15, 0:10], ids[5:15, 10:20] = 1, 2
    return ids


@pytest.mark.parametrize("width", [1, 2, 3])
def test_border_pixels_are_exactly_the_bands_where_two_squares_touch(width):
    border = touching_border(two_touching_squares(), width)
    expected = np.zeros((20, 30), bool)
    expected[5:15, 10 - width:10 + width] = True
    np.testing.assert_array_equal(border, expected)


def test_a_lone_object_or_an_empty_image_has_no_border():
    ids = np.zeros((20, 30), np.uint32)
    ids[3:12, 4:20] = 7
    assert not touching_border(ids).any()
    assert not touching_border(np.zeros((5, 5), np.uint8)).any()


def test_objects_close_but_apart_count_within_the_width_diagonals_by_euclidean_distance():
    ids = np.zeros((12, 12), np.uint8)
    ids[2:5, 2:5], ids[6:9, 2:5] = 1, 2  # one background row between them: 2 px apart
    border = touching_border(ids, 2)
    assert border[4, 2:5].all() and border[6, 2:5].all() and not border[3].any() and not border[7].any()
    corner = np.zeros((8, 8), np.uint8)
    corner[1:3, 1:3], corner[4:6, 4:6] = 1, 2  # nearest pixels (2, 2) and (4, 4): 2.83 px apart
    assert not touching_border(corner, 2).any() and touching_border(corner, 3)[2, 2]


def test_ids_past_uint16_are_told_apart():
    ids = np.zeros((4, 6), np.uint32)
    ids[:, :3], ids[:, 3:] = 70_000, 70_001
    assert touching_border(ids, 1)[:, 2:4].all() and not touching_border(ids, 1)[:, [0, 1, 4, 5]].any()


def test_border_class_only_on_labelled_object_pixels():
    ids = two_touching_squares()
    target = target_from_instances(ids)
    assert set(np.unique(target)) == {0, 1} and target.dtype == np.int64
    target[:, 12] = -1  # an unlabelled column through object 2
    made = add_border_class(target, ids, border_class=2, width=2)
    assert (made[:, 12] == -1).all()
    assert (made[5:15, 8:12] == 2).all() and (made[5:15, 13] == 1).all() and (made[:5, :12] == 0).all()
    np.testing.assert_array_equal(add_border_class(target, None, 2), target)
    assert target[5, 9] == 1  # the input is not changed


def test_semantic_truth_gives_border_pixels_their_objects_class():
    ids = two_touching_squares()
    target = np.zeros((20, 30), np.int64)
    target[ids == 1], target[ids == 2] = 1, 2  # two classes: the border class is 3
    made = add_border_class(target, ids, border_class=3, width=2)
    assert (made == 3).sum() == 40
    np.testing.assert_array_equal(semantic_truth(made, ids, 3), target)
    one_class = add_border_class(target_from_instances(ids), ids, 2)
    np.testing.assert_array_equal(semantic_truth(one_class, None, 2), target_from_instances(ids))


def test_recipe_round_trips_as_plain_data_and_old_files_mean_semantic():
    recipe = TargetRecipe(TOUCHING_BORDER, 3)
    assert recipe.has_border and recipe.extra_outputs() == 1
    assert TargetRecipe.from_dict(recipe.to_dict()) == recipe
    assert recipe.to_dict() == {"target": "touching-border", "border_width": 3}
    assert TargetRecipe.from_dict(None) == TargetRecipe.from_dict({}) == TargetRecipe(SEMANTIC)
    assert TargetRecipe().extra_outputs() == 0
    with pytest.raises(ValueError, match="unknown target recipe"):
        TargetRecipe("flows")
    with pytest.raises(ValueError, match="border_width"):
        TargetRecipe(TOUCHING_BORDER, 0)
