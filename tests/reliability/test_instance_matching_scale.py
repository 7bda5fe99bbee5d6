"""Instance matching at IoU 0.5 with thousands of objects: fast and bounded in memory, ties still optimal.

Found by the bad-input corpus: evaluating a 1 x 20000 label image (about 9000 objects) built a dense
9000 x 9000 assignment matrix (650 MB) and took 33 s.
"""

from __future__ import annotations


import numpy as np

from unet_studio.core.metrics import match_instances


def test_thousands_of_one_to_one_objects_match_quickly():
    labels = np.zeros((2, 30000), np.uint32)
    labels[0, ::3] = np.arange(1, 10001)
    match = match_instances(labels, labels.copy(), 0.5)  # was 33 s and 650 MB before one-to-one matching
    assert (match.true_positives, match.false_positives, match.false_negatives) == (10000, 0, 0)


def test_ties_at_exactly_half_still_get_the_best_assignment():
    pred = np.zeros((1, 12), np.uint16)
    truth = np.zeros((1, 12), np.uint16)
    pred[0, 0:4] = 1  # overlaps truth 1 and 2 with IoU 0.5 each: only one of them can match
    truth[0, 0:2], truth[0, 2:4] = 1, 2
    pred[0, 6:8], truth[0, 6:8] = 2, 3  # an ordinary one-to-one pair beside the tie
    pred[0, 10], truth[0, 11] = 3, 4  # no overlap at all
    match = match_instances(pred, truth, 0.5)
    assert (match.true_positives, match.false_positives, match.false_negatives) == (2, 1, 2)
