"""The object brush in core: class labels and object ids painted together, ids cleared by class edits."""

import numpy as np

from unet_studio.core.painting import clear_ids, object_at, object_stroke_segment, paint_disc, paint_object_disc
from unet_studio.core.undo_patch import merge_patches


def _layers(size=32):
    return np.zeros((size, size), np.uint8), np.zeros((size, size), np.uint16)


def test_object_dab_paints_the_class_and_the_id_on_the_same_pixels():
    labels, ids = _layers()
    label_patch, id_patch = paint_object_disc(labels, ids, (10, 10), 3, class_value=2, object_id=1)
    assert ((labels == 2) == (ids == 1)).all()
    assert label_patch.n_pixels == id_patch.n_pixels == int((ids == 1).sum()) == 29  # radius-3 disc
    id_patch.apply_old(ids)
    label_patch.apply_old(labels)
    assert not labels.any() and not ids.any()


def test_a_new_object_takes_the_pixels_of_the_one_it_covers():
    labels, ids = _layers()
    paint_object_disc(labels, ids, (10, 10), 4, 2, 1)
    label_patch, id_patch = paint_object_disc(labels, ids, (10, 14), 4, 2, 2)
    assert ids[10, 14] == 2 and ids[10, 6] == 1 and ids[10, 10] == 2
    assert (labels[ids > 0] == 2).all()
    assert id_patch.n_pixels > label_patch.n_pixels  # the shared pixels kept their class, changed object
    assert set(np.unique(id_patch.old_values)) == {0, 1}


def test_only_unlabelled_keeps_labelled_pixels_in_both_layers():
    labels, ids = _layers()
    labels[:, :10] = 3
    paint_object_disc(labels, ids, (10, 10), 4, 2, 1, only_unlabelled=True)
    assert (labels[:, :10] == 3).all() and not ids[:, :10].any()
    assert ids[10, 12] == 1 and labels[10, 12] == 2


def test_object_stroke_is_gap_free_in_both_layers():
    labels, ids = _layers(64)
    label_patch, id_patch = object_stroke_segment(labels, ids, (20, 2), (20, 60), 2, 3, 7)
    assert (ids[20, 2:61] == 7).all() and (labels[20, 2:61] == 3).all()
    assert label_patch.n_pixels == id_patch.n_pixels == int((ids == 7).sum())


def test_clear_ids_takes_only_the_changed_pixels_out_of_their_objects():
    labels, ids = _layers()
    paint_object_disc(labels, ids, (10, 10), 5, 2, 4)
    before = ids.copy()
    erased = paint_disc(labels, (10, 14), 2, 0)
    cleared = clear_ids(ids, erased)
    assert cleared.n_pixels == erased.n_pixels
    assert ((ids == 0) == (labels == 0)).all()
    same_class = paint_disc(labels, (10, 8), 2, 2)  # unchanged pixels: no patch, ids stay
    assert clear_ids(ids, same_class) is None
    cleared.apply_old(ids)
    np.testing.assert_array_equal(ids, before)


def test_clear_ids_without_objects_under_the_edit_is_nothing():
    labels, ids = _layers()
    assert clear_ids(ids, paint_disc(labels, (5, 5), 3, 2)) is None
    assert clear_ids(ids, None) is None


def test_merged_id_patches_undo_a_whole_stroke():
    labels, ids = _layers(64)
    dabs = [paint_object_disc(labels, ids, (20, x), 3, 2, 1) for x in range(5, 40, 2)]
    dabs += [paint_object_disc(labels, ids, (22, x), 3, 2, 2) for x in range(5, 40, 2)]
    merged = merge_patches(i for _, i in dabs)
    merged.apply_old(ids)
    assert not ids.any()
    merged.apply_new(ids)
    assert set(np.unique(ids)) == {0, 1, 2}


def test_object_at_needs_an_object_class_under_the_id():
    labels, ids = _layers()
    paint_object_disc(labels, ids, (10, 10), 3, 2, 5)
    assert object_at(labels, ids, (10, 10)) == 5
    assert object_at(labels, ids, (0, 0)) == 0
    assert object_at(labels, ids, (-1, 40)) == 0
    assert object_at(labels, None, (10, 10)) == 0
    labels[10, 10] = 1  # background: whatever the id says, no object
    assert object_at(labels, ids, (10, 10)) == 0
