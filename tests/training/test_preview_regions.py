"""Previews in pieces: the viewport first, then the rest; Trainer.preview of a region and its step."""

import threading
from itertools import islice

import numpy as np
import pytest

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.training.events import StepEnded
from unet_studio.training.preview_regions import clip_region, context_crop, rest_regions
from unet_studio.training.trainer import Trainer


@pytest.mark.parametrize("shape, region", [((64, 80), (10, 20, 30, 50)), ((64, 80), (0, 0, 64, 40)),
                                           ((61, 67), (60, 0, 61, 67)), ((5, 5), (2, 2, 3, 3))])
def test_the_rest_covers_the_image_outside_the_region_exactly_once(shape, region):
    cover = np.zeros(shape, np.int32)
    y0, x0, y1, x1 = region
    cover[y0:y1, x0:x1] += 1
    pieces = rest_regions(shape, region)
    assert len(pieces) <= 4
    for py0, px0, py1, px1 in pieces:
        cover[py0:py1, px0:px1] += 1
    assert (cover == 1).all()


def test_regions_are_clipped_and_grown_by_the_context_inside_the_image():
    assert clip_region((-5, -5, 10, 200), (64, 80)) == (0, 0, 10, 80)
    assert clip_region((70, 0, 90, 10), (64, 80)) is None
    crop, inner = context_crop((10, 30, 20, 40), (64, 80), 16)
    assert crop == (0, 14, 36, 56) and inner == (10, 16, 20, 26)
    assert context_crop((0, 0, 64, 80), (64, 80), 16) == ((0, 0, 64, 80), (0, 0, 64, 80))


def test_trainer_previews_a_region_with_the_step_of_its_weights(tmp_path):
    items = blob_items(2, size=48)
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=None, max_steps=50), items, [], CLASSES, tmp_path / "m.pt")
    trainer.set_preview_image(items[0].image)
    events = trainer.iter_fit(threading.Event())
    steps = [e for e in islice(events, 30) if isinstance(e, StepEnded)]
    whole = trainer.preview(1, steps[-1].step)
    part = trainer.preview(1, steps[-1].step, (8, 4, 20, 30))
    assert whole.step == part.step == steps[-1].step and whole.region is None
    assert whole.probabilities.shape == (2, 48, 48)
    assert part.region == (8, 4, 20, 30) and part.probabilities.shape == (2, 12, 26)
    np.testing.assert_allclose(part.probabilities.sum(axis=0), 1.0, atol=1e-4)
    assert trainer.preview(1, 0, (60, 60, 70, 70)).region is None  # nothing of it inside: the whole image
    events.close()
