"""without_contact_rim: the rim where two classes' strokes touch is left out, nothing else changes."""

import numpy as np
import pytest

from unet_studio.data.targets import without_contact_rim


def _touching_strokes() -> np.ndarray:
    """A background stroke (columns 1-3) running right up to a foreground stroke (columns 4-6), 8 rows."""
    target = np.full((8, 10), -1, np.int64)
    target[:, 1:4] = 0
    target[:, 4:7] = 1
    return target


@pytest.mark.parametrize("width, kept_background, kept_foreground", [(1, [1, 2], [5, 6]), (2, [1], [6])])
def test_rim_of_width_leaves_out_both_sides(width, kept_background, kept_foreground):
    out = without_contact_rim(_touching_strokes(), width)
    assert [c for c in range(10) if (out[:, c] == 0).all()] == kept_background
    assert [c for c in range(10) if (out[:, c] == 1).all()] == kept_foreground
    assert ((out == -1) | (out == _touching_strokes())).all()  # pixels only become unlabelled


def test_strokes_apart_and_width_zero_are_unchanged():
    target = np.full((8, 10), -1, np.int64)
    target[:, 1] = 0
    target[:, 4] = 1  # two unlabelled columns between the strokes: more than the 1 px rim
    assert np.array_equal(without_contact_rim(target, 1), target)
    assert np.array_equal(without_contact_rim(_touching_strokes(), 0), _touching_strokes())


def test_three_classes_and_input_untouched():
    target = np.full((5, 9), -1, np.int64)
    target[:, 0:3], target[:, 3:6], target[:, 6:9] = 0, 1, 2
    before = target.copy()
    out = without_contact_rim(target, 1)
    assert np.array_equal(target, before)
    assert (out[:, [2, 3, 5, 6]] == -1).all() and (out[:, 4] == 1).all() and (out[:, [0, 8]] >= 0).all()
