"""A small two-class scene shared by the export tests: discs and squares on a noisy background."""

import numpy as np
import pytest
from skimage.draw import disk


@pytest.fixture
def scene():
    """(pixels (H, W, 2) uint16, mask 0/1/2, instances uint16) with 3 discs (class 1) and 2 squares (class 2)."""
    rng = np.random.default_rng(1)
    h, w = 72, 90
    instances = np.zeros((h, w), np.uint16)
    mask = np.zeros((h, w), np.uint8)
    for label, centre in enumerate([(15, 15), (20, 60), (50, 30)], start=1):
        rows, cols = disk(centre, 8, shape=(h, w))
        instances[rows, cols] = label
        mask[rows, cols] = 1
    for label, (r, c) in enumerate([(45, 60), (5, 78)], start=4):
        instances[r : r + 10, c : c + 9] = label
        mask[r : r + 10, c : c + 9] = 2
    pixels = rng.integers(100, 200, size=(h, w, 2)).astype(np.uint16)
    pixels[..., 0] += (instances > 0).astype(np.uint16) * 1000
    pixels[..., 1] += (mask == 2).astype(np.uint16) * 500
    return pixels, mask, instances
