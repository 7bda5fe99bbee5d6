"""Painting edits on numpy label arrays and their undo patches."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unet_studio.core.painting import fill_polygon, flood_fill, label_at, paint_disc, stroke_segment
from unet_studio.core.undo_patch import merge_patches


def test_paint_disc_sets_exactly_the_disc():
    labels = np.zeros((21, 21), np.uint8)
    patch = paint_disc(labels, (10, 10), 3, 2)
    yy, xx = np.mgrid[:21, :21]
    expected = ((yy - 10) ** 2 + (xx - 10) ** 2 <= 9).astype(np.uint8) * 2
    np.testing.assert_array_equal(labels, expected)
    assert patch.n_pixels == int((expected > 0).sum())
    assert patch.bbox == (7, 7, 14, 14)


def test_size_one_brush_paints_one_pixel():
    labels = np.zeros((5, 5), np.uint8)
    paint_disc(labels, (2, 3), 0.5, 1)
    assert labels.sum() == 1 and labels[2, 3] == 1


def test_paint_disc_clips_at_border_and_outside_is_none():
    labels = np.zeros((10, 10), np.uint8)
    patch = paint_disc(labels, (0, 0), 2, 3)
    assert patch.bbox == (0, 0, 3, 3)
    assert labels[0, 0] == 3 and labels[2, 0] == 3 and labels[2, 2] == 0
    assert paint_disc(labels, (-20, -20), 2, 3) is None


def test_paint_disc_same_value_changes_nothing():
    labels = np.full((8, 8), 2, np.uint8)
    assert paint_disc(labels, (4, 4), 2, 2) is None


def test_only_unlabelled_keeps_existing_labels():
    labels = np.zeros((11, 11), np.uint8)
    labels[:, 5:] = 3
    paint_disc(labels, (5, 5), 4, 2, only_unlabelled=True)
    assert (labels[:, 5:] == 3).all()
    assert labels[5, 2] == 2


def test_eraser_ignores_only_unlabelled():
    labels = np.full((9, 9), 2, np.uint8)
    patch = paint_disc(labels, (4, 4), 1, 0, only_unlabelled=True)
    assert patch is not None and labels[4, 4] == 0


def test_stroke_segment_leaves_no_gaps():
    labels = np.zeros((20, 200), np.uint8)
    stroke_segment(labels, (10, 5), (10, 190), 2, 1)
    assert (labels[10, 5:191] == 1).all()
    assert labels[10, 0:3].sum() == 0


def test_flood_fill_fills_only_the_connected_region():
    labels = np.zeros((10, 10), np.uint8)
    labels[:, 4] = 2  # a wall
    patch = flood_fill(labels, (1, 1), 3)
    assert (labels[:, :4] == 3).all() and (labels[:, 5:] == 0).all() and (labels[:, 4] == 2).all()
    assert patch.n_pixels == 40
    patch.apply_old(labels)
    assert (labels[:, :4] == 0).all()


def test_flood_fill_respects_only_unlabelled_and_bounds():
    labels = np.full((6, 6), 2, np.uint8)
    assert flood_fill(labels, (1, 1), 3, only_unlabelled=True) is None
    assert flood_fill(labels, (10, 1), 3) is None
    assert flood_fill(labels, (1, 1), 2) is None


def test_fill_polygon_square():
    labels = np.zeros((20, 20), np.uint8)
    patch = fill_polygon(labels, [(2, 2), (2, 10), (10, 10), (10, 2)], 4)
    assert labels[5, 5] == 4 and labels[15, 15] == 0
    assert patch.n_pixels == int((labels == 4).sum())
    assert fill_polygon(labels, [(1, 1), (2, 2)], 4) is None


def test_label_at():
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert label_at(labels, (2, 1)) == 9
    assert label_at(labels, (3, 0)) is None


def test_merge_keeps_first_old_and_last_new():
    labels = np.zeros((10, 10), np.uint8)
    first = paint_disc(labels, (3, 3), 1, 1)
    second = paint_disc(labels, (3, 4), 1, 2)
    merged = merge_patches([first, second])
    assert merged.bbox == (2, 2, 5, 6)
    assert set(np.unique(merged.old_values)) == {0}
    merged.apply_old(labels)
    assert not labels.any()
    merged.apply_new(labels)
    assert labels[3, 3] == 2 and labels[3, 2] == 1


def test_merge_drops_pixels_restored_within_the_edit():
    labels = np.zeros((10, 10), np.uint8)
    painted = paint_disc(labels, (5, 5), 2, 1)
    erased = paint_disc(labels, (5, 5), 2, 0)
    assert merge_patches([painted, erased]) is None
    assert merge_patches([None, None]) is None


def test_patch_memory_grows_with_changed_pixels_not_image_size():
    small, large = np.zeros((64, 64), np.uint8), np.zeros((4096, 4096), np.uint8)
    a = stroke_segment(small, (30, 5), (30, 60), 3, 1)
    b = stroke_segment(large, (30, 5), (30, 60), 3, 1)
    assert a.nbytes == b.nbytes < 10_000


points = st.tuples(st.floats(-5, 69), st.floats(-5, 69))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    strokes=st.lists(
        st.tuples(st.lists(points, min_size=1, max_size=5), st.floats(0.3, 8), st.integers(0, 5), st.booleans()),
        min_size=1,
        max_size=4,
    ),
)
def test_paint_then_undo_is_identity(seed, strokes):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=(64, 64)).astype(np.uint8)
    original = labels.copy()
    history = []
    for path, radius, value, only_unlabelled in strokes:
        dabs = [stroke_segment(labels, p0, p1, radius, value, only_unlabelled) for p0, p1 in zip(path, path[1:])]
        dabs.insert(0, paint_disc(labels, path[0], radius, value, only_unlabelled))
        after = labels.copy()
        patch = merge_patches(dabs)
        history.append((patch, after))
    for patch, after in reversed(history):
        np.testing.assert_array_equal(labels, after)
        if patch is not None:
            patch.apply_old(labels)
    np.testing.assert_array_equal(labels, original)
    for patch, after in history:
        if patch is not None:
            patch.apply_new(labels)
        np.testing.assert_array_equal(labels, after)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_dtypes_are_kept(dtype):
    labels = np.zeros((16, 16), dtype)
    patch = paint_disc(labels, (8, 8), 3, 300 if dtype == np.uint16 else 7)
    assert patch.old_values.dtype == dtype and patch.new_values.dtype == dtype


def test_flood_fill_enclosed_only_fills_inside_an_outline_and_never_the_open_rest():
    labels = np.zeros((12, 12), np.uint8)
    labels[2, 2:9] = labels[8, 2:9] = labels[2:9, 2] = labels[2:9, 8] = 2  # a closed square outline
    assert flood_fill(labels, (0, 0), 3, enclosed_only=True) is None  # outside: reaches the edge
    assert labels.max() == 2 and (labels == 0).sum() == 144 - 24
    patch = flood_fill(labels, (5, 5), 2, enclosed_only=True)
    assert patch.n_pixels == 25 and (labels[3:8, 3:8] == 2).all() and labels[0, 0] == 0
    labels[:, 11] = 2  # a region touching only the right edge is open too
    assert flood_fill(labels, (0, 10), 3, enclosed_only=True) is None
