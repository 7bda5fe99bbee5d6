"""The threshold rule: the EM prior estimate (prior.py) on hand-made posteriors, and why scribble models keep
the argmax while dense validation still picks a threshold."""

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
    threshold = prior_corrected_threshold(_Fixed(), [item], tile=64, overlap=8, device=torch.device("cpu"),
                                          precision="fp32")
    assert threshold is not None and threshold > 0.6


def test_on_scribble_like_posteriors_the_prior_threshold_drifts_and_argmax_holds():
    """The hand-made case behind the threshold rule: sure on the stroke pixels, unsure between them."""
    rng = np.random.default_rng(0)
    n = 200 * 200
    truth = np.zeros(n, bool)
    truth[: n // 5] = True  # 20 % foreground, like ISBI membranes
    strokes = np.zeros(n, bool)
    strokes[:400] = strokes[n // 5: n // 5 + 400] = True  # as many foreground as background stroke pixels
    p1 = np.clip(np.where(truth, 0.62, 0.30) + rng.normal(0, 0.08, n), 0.001, 0.999)
    p1[strokes] = np.where(truth[strokes], 0.97, 0.03)
    posteriors = np.stack([1 - p1, p1])
    train_prior = posteriors[:, strokes].mean(axis=1)
    threshold = threshold_from_priors(estimate_prior(posteriors, train_prior), train_prior)

    def dice(cut):
        predicted = p1 >= cut
        return 2 * (predicted & truth).sum() / (predicted.sum() + truth.sum())

    assert threshold > 0.9 and dice(threshold) < 0.2, "EM on uncalibrated posteriors all but drops the class"
    assert dice(0.5) > 0.9, "the argmax keeps it"


def _scribbled(items):
    for item in items:  # keep a few pixels of each class: scribbles
        scribble = np.full_like(item.target, -1)
        for value in (0, 1):
            ys, xs = np.nonzero(item.target == value)
            scribble[ys[::6][:30], xs[::6][:30]] = value
        item.target[:] = scribble
    return items


@pytest.mark.parametrize("with_validation", [False, True])
def test_scribble_models_keep_the_argmax(tmp_path, with_validation):
    from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
    from unet_studio.inference.predictor import Predictor
    from unet_studio.models.checkpoint import load_checkpoint
    from unet_studio.training.events import TrainingFinished
    from unet_studio.training.trainer import Trainer

    items = _scribbled(blob_items(3 if with_validation else 2, size=48))
    train, val = (items[:2], items[2:]) if with_validation else (items, [])
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=1), train, val, CLASSES, tmp_path / "m.pt")
    finished = [e for e in trainer.iter_fit() if isinstance(e, TrainingFinished)][0]
    assert load_checkpoint(finished.checkpoint_path).threshold is None
    predictor = Predictor.from_checkpoint(finished.checkpoint_path, device="cpu")
    image = (items[0].image[0] * 255).astype(np.uint8)
    prediction = predictor.predict(image)
    assert np.array_equal(prediction.mask, prediction.probabilities.argmax(0))


def test_dense_validation_still_picks_a_threshold(tmp_path):
    from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
    from unet_studio.models.checkpoint import load_checkpoint
    from unet_studio.training.events import TrainingFinished
    from unet_studio.training.trainer import Trainer

    items = blob_items(3, size=48)
    # 2 x 15 steps: enough to tell discs from background (a threshold that calls all background an object
    # is never picked, so an untrained model keeps the argmax)
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=2, steps_per_epoch=15), items[:2], items[2:], CLASSES,
                      tmp_path / "m.pt")
    finished = [e for e in trainer.iter_fit() if isinstance(e, TrainingFinished)][0]
    threshold = load_checkpoint(finished.checkpoint_path).threshold
    assert threshold is not None and 0.1 <= threshold <= 0.9
