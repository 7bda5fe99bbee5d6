"""Label-shift correction for sparse labels (Saerens, Latinne and Decaestecker 2002): NOT the product rule.

Scribbles label the classes in about equal amounts, while in the image one class may be far rarer (ISBI
membranes are about a fifth of the pixels). The correction estimates the image prior by expectation-
maximisation on the network's posteriors over whole training images and turns the prior ratio into a
decision threshold. It assumes posteriors that are calibrated on the unlabelled pixels too, and scribbles
break that: the network is sure on the easy stroke pixels and unsure between them, so the EM estimate
drifts (a stored threshold of 0.77 where 0.45 was best, 0.95 for a model early in training) and the masks
lose half their membrane. It did not hold on every annotator style, so the Trainer no longer uses it: a
two-class model trained on scribbles keeps the argmax of its class-balanced output (validation.py).
benchmarks/scribble_styles.py still computes it beside argmax on every style, to show that choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from unet_studio.data.sampling import TrainItem
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.tiling import predict_probabilities

MAX_ITEMS = 8
MAX_PIXELS_PER_ITEM = 250_000


def estimate_prior(posteriors: np.ndarray, train_prior: np.ndarray, iterations: int = 100) -> np.ndarray:
    """EM estimate of the class prior of pixels whose posteriors (K, N) were made under `train_prior`."""
    prior = train_prior.astype(np.float64).copy()
    for _ in range(iterations):
        adjusted = posteriors * (prior / train_prior)[:, None]
        adjusted /= np.maximum(adjusted.sum(axis=0, keepdims=True), 1e-12)
        new = adjusted.mean(axis=1)
        if np.abs(new - prior).max() < 1e-5:
            return new
        prior = new
    return prior


def threshold_from_priors(image_prior: np.ndarray, train_prior: np.ndarray) -> float:
    """Foreground threshold t on p1 equivalent to argmax of the prior-adjusted posteriors."""
    background, foreground = image_prior / train_prior
    return float(np.clip(background / (background + foreground), 0.05, 0.95))


def prior_corrected_threshold(model: nn.Module, items: Sequence[TrainItem], *, tile: int, overlap: int,
                              device: torch.device, precision: str, seed: int = 0) -> float | None:
    """The foreground threshold for a two-class model trained on the sparse labels of `items`, or None."""
    rng = np.random.default_rng(seed)
    labelled_sum, n_labelled, samples = np.zeros(2), 0, []
    for item in list(items)[:MAX_ITEMS]:
        probs = predict_probabilities(model, item.image, PredictConfig(tile, overlap, precision=precision),
                                      device=device)
        if probs is None or probs.shape[0] != 2:
            return None
        labelled = item.target >= 0
        labelled_sum += probs[:, labelled].sum(axis=1)
        n_labelled += int(labelled.sum())
        flat = probs.reshape(2, -1)
        if flat.shape[1] > MAX_PIXELS_PER_ITEM:
            flat = flat[:, rng.choice(flat.shape[1], MAX_PIXELS_PER_ITEM, replace=False)]
        samples.append(flat)
    if n_labelled == 0 or not samples:
        return None
    train_prior = np.clip(labelled_sum / n_labelled, 1e-4, None)
    train_prior /= train_prior.sum()
    image_prior = estimate_prior(np.concatenate(samples, axis=1).astype(np.float64), train_prior)
    return threshold_from_priors(image_prior, train_prior)
