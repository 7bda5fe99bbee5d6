"""The pixel forest: the same probabilities as scikit-learn's forest, kept as plain data, tiled as whole."""

import numpy as np
import pytest
import torch

from tests.conftest import make_blobs
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.tile_functions import ForestBlended
from unet_studio.inference.tiling import predict_probabilities
from unet_studio.models import pixel_forest
from unet_studio.models.pixel_forest import PixelForest, fit_forest, mirrored, pixel_features

pytest.importorskip("sklearn")


def scribbled_blobs(seed=0, size=96):
    image, mask = make_blobs((size, size), n=6, radius=8, seed=seed, dtype=np.float32)
    noisy = image + np.random.default_rng(seed).normal(0, 0.2, image.shape).astype(np.float32)
    target = np.where(np.arange(size)[:, None] % 6 == 0, mask.astype(np.int64), -1)
    return noisy[None], target, mask


def test_the_forest_gives_scikit_learns_probabilities():
    from sklearn.ensemble import RandomForestClassifier

    images, targets = zip(*[scribbled_blobs(seed)[:2] for seed in range(2)])
    forest, pixels = fit_forest(images, targets, 2, seed=3)
    x = np.concatenate([pixel_features(mirrored(i))[72:-72, 72:-72][t >= 0] for i, t in zip(images, targets)])
    y = np.concatenate([t[t >= 0] for t in targets])
    reference = RandomForestClassifier(n_estimators=50, max_depth=10, max_samples=0.05, random_state=3).fit(x, y)
    test_image = scribbled_blobs(seed=7)[0]
    features = pixel_features(mirrored(test_image))[72:-72, 72:-72]
    expected = reference.predict_proba(features.reshape(-1, features.shape[-1])).T.reshape(2, 96, 96)
    assert pixels == y.size
    np.testing.assert_allclose(forest.probabilities(test_image), expected, atol=1e-5)


def test_the_forest_finds_the_blobs_and_gives_unseen_classes_nothing():
    image, target, mask = scribbled_blobs()
    forest, _ = fit_forest([image], [target], 3)
    probabilities = forest.probabilities(scribbled_blobs(seed=5)[0])
    truth = scribbled_blobs(seed=5)[2] > 0
    assert probabilities.shape == (3, 96, 96) and np.all(probabilities[2] == 0)
    np.testing.assert_allclose(probabilities.sum(axis=0), 1.0, atol=1e-5)
    found = probabilities[1] >= 0.5
    assert 2 * (found & truth).sum() / (found.sum() + truth.sum()) > 0.8


def test_nothing_labelled_fits_nothing():
    image, target, _ = scribbled_blobs()
    assert fit_forest([image], [np.full_like(target, -1)], 2) is None


def test_the_plain_form_loads_without_pickles_and_predicts_the_same(tmp_path):
    image, target, _ = scribbled_blobs()
    forest, _ = fit_forest([image], [target], 2)
    torch.save(forest.to_plain(), tmp_path / "forest.pt")
    again = PixelForest.from_plain(torch.load(tmp_path / "forest.pt", weights_only=True))
    np.testing.assert_array_equal(again.probabilities(image), forest.probabilities(image))
    assert PixelForest.from_plain(None) is None and PixelForest.from_plain({}) is None


def test_big_images_are_fitted_strip_by_strip_with_the_same_features(monkeypatch):
    image, target, _ = scribbled_blobs(size=160)
    whole = fit_forest([image], [target], 2)[0]
    monkeypatch.setattr(pixel_forest, "STRIP", 40)
    strips = fit_forest([image], [target], 2)[0]
    np.testing.assert_allclose(strips.probabilities(image), whole.probabilities(image), atol=1e-6)


def test_tiles_with_the_forest_give_the_whole_images_average():
    image, target, _ = scribbled_blobs(size=200)
    forest, _ = fit_forest([image], [target], 2)

    def network(tile):  # a tile function: a fixed guess that ignores the image
        return np.stack([np.full(tile.shape[1:], 0.8, np.float32), np.full(tile.shape[1:], 0.2, np.float32)])

    config = PredictConfig(tile=64, overlap=16)
    tiled = predict_probabilities(ForestBlended(network, forest), image, config)
    expected = (predict_probabilities(network, image, config) + forest.probabilities(image)) / 2
    assert np.abs(tiled - expected).max() < 1e-4
