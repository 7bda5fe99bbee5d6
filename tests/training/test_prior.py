"""Label-shift correction: the EM prior estimate and the threshold it implies, on hand-made posteriors."""

import numpy as np
import pytest
import torch

from unet_studio.data.sampling import TrainItem
from unet_studio.training.prior import estimate_prior, prior_corrected_threshold, threshold_from_priors


def _posteriors_under(train_prior, true_prior, n=20000, seed=0):
    """Posteriors of a calibrated classifier trained under `train_prior`, on pixels drawn with `true_prior`."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < true_prior[1]
    # Class-conditional likelihood ratio of a noisy feature, turned into posteriors under the training prior.
    feature = np.where(labels, 1.0, -1.0) + rng.normal(0, 1.0, n)
    likelihood_ratio = np.exp(2 * feature)  # N(1,1) vs N(-1,1)
    odds = likelihood_ratio * train_prior[1] / train_prior[0]
    p1 = odds / (1 + odds)
    return np.stack([1 - p1, p1])


def test_em_recovers_the_image_prior_from_balanced_training():
    train, true = np.array([0.5, 0.5]), np.array([0.8, 0.2])
    estimate = estimate_prior(_posteriors_under(train, true), train)
    assert estimate == pytest.approx(true, abs=0.02)


def test_threshold_from_priors_by_hand():
    # Image prior 0.8/0.2 under a 0.5/0.5 training prior: p1 * 0.4 >= p0 * 1.6  <=>  p1 >= 0.8.
    assert threshold_from_priors(np.array([0.8, 0.2]), np.array([0.5, 0.5])) == pytest.approx(0.8)
    assert threshold_from_priors(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0.5)


class _Fixed(torch.nn.Module):
    """A 'network' whose foreground logit is the pixel value: posteriors known in advance."""

    margin = 0

    def forward(self, x):
        return torch.cat([torch.zeros_like(x), 4 * x], dim=1)


def test_sparse_items_give_a_threshold_above_one_half_for_a_rare_foreground():
    rng = np.random.default_rng(1)
    foreground = rng.random((64, 64)) < 0.15
    image = np.where(foreground, 1.0, -1.0) + rng.normal(0, 0.5, (64, 64))
    target = np.full((64, 64), -1, np.int64)
    ys, xs = np.nonzero(foreground)
    target[ys[:40], xs[:40]] = 1  # as many foreground as background scribble pixels
    ys, xs = np.nonzero(~foreground)
    target[ys[:40], xs[:40]] = 0
    item = TrainItem(image[None].astype(np.float32), target, "scribbled.png")
    threshold = prior_corrected_threshold(_Fixed(), [item], tile=64, overlap=8, device=torch.device("cpu"), amp=False)
    assert threshold is not None and threshold > 0.6


def test_trainer_stores_a_prior_corrected_threshold_for_scribbles(tmp_path):
    from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
    from unet_studio.models.checkpoint import load_checkpoint
    from unet_studio.training.events import TrainingFinished
    from unet_studio.training.trainer import Trainer

    items = blob_items(2, size=48)
    for item in items:  # keep a few pixels of each class: scribbles
        scribble = np.full_like(item.target, -1)
        for value in (0, 1):
            ys, xs = np.nonzero(item.target == value)
            scribble[ys[::6][:30], xs[::6][:30]] = value
        item.target[:] = scribble
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=1), items, [], CLASSES, tmp_path / "m.pt")
    finished = [e for e in trainer.iter_fit() if isinstance(e, TrainingFinished)][0]
    checkpoint = load_checkpoint(finished.checkpoint_path)
    # the saved threshold is the prior-corrected one of the saved weights on these scribbled images
    tile, overlap = trainer._tiling()
    expected = prior_corrected_threshold(checkpoint.build_model(), items, tile=tile, overlap=overlap,
                                         device=trainer.device, amp=trainer.amp, seed=0)
    assert checkpoint.threshold is not None and checkpoint.threshold == pytest.approx(expected, abs=1e-4)
