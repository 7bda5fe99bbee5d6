"""The pixel forest a scribble run fits beside its U-Net (models/pixel_forest.py), for the Trainer.

Chosen on benchmarks/scribble_styles.py's dev slices by its own rule (the best worst-style margin over the
random-forest peer, then the mean): averaging the network's probabilities with a forest fitted on the same
scribbles raised the worst style's margin from +0.014 / +0.006 to +0.023 / +0.019 (seeds 0 / 1), and on the
held-out slices the mean margin from +0.032 / +0.036 to +0.052 / +0.056 (README, Measured). Only 2-D runs of
the plain semantic recipe on scribbles get one: dense masks teach the network enough alone, and live training
changes its labels with every stroke.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from unet_studio.data.sampling import TrainItem
from unet_studio.models.pixel_forest import PixelForest, fit_forest


def scribble_forest(items: Sequence, n_classes: int, seed: int, wanted: bool) -> tuple[PixelForest | None, str | None]:
    """(forest, log line) for training `items` of sparse labels; (None, None) when `wanted` is False or an
    item is not a plain 2-D image (a big image's regions); (None, why) when scikit-learn is missing."""
    if not wanted or not items or not all(isinstance(item, TrainItem) and item.image.ndim == 3 for item in items):
        return None, None
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return None, "no pixel forest beside the network: scikit-learn is not installed (pip install scikit-learn)"
    start = time.perf_counter()
    fitted = fit_forest([item.image for item in items], [item.target for item in items], n_classes, seed,
                        max(1, torch.get_num_threads()))
    if fitted is None:
        return None, None
    forest, pixels = fitted
    return forest, (f"pixel forest: fitted on {pixels} scribbled pixels in {time.perf_counter() - start:.1f} s; "
                    "predictions average it with the network")
