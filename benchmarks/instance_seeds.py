"""How the watershed's seed height was chosen: AP@0.5 of DSB nuclei instances per seed height.

First on the true masks of the benchmark's 47 training images (no model involved: how well each seed height
recovers the true nuclei from a perfect mask; this is where the default, 1 px, was chosen), then, for models
saved by `dense.py --dataset dsb --recipe today --keep-model PREFIX` (as PREFIX.today.seed0.pt), on each
model's validation images (named in the checkpoint) and on the benchmark's test images. "no split" is plain
connected components. Prints JSON.
Usage: python benchmarks/instance_seeds.py [MODEL.pt ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dense import DATASETS, split  # noqa: E402
from isbi_data import dataset_dir, load_pairs  # noqa: E402

from unet_studio.core.metrics import average_precision  # noqa: E402
from unet_studio.inference.postprocess import SEED_HEIGHT, mask_to_instances  # noqa: E402
from unet_studio.inference.predictor import Predictor  # noqa: E402
from unet_studio.models.checkpoint import load_checkpoint  # noqa: E402

SEED_HEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0)


def mean_scores(masks, folder: Path) -> dict[str, float]:
    """Mean AP@0.5 for each seed height (and without splitting) over (name, mask, probabilities or None)."""
    scores: dict[str, list[float]] = {}
    for name, mask, probabilities in masks:
        truth = tifffile.imread(folder / "instances" / f"{name}.tif")
        scores.setdefault("no split", []).append(
            average_precision(mask_to_instances(mask, split_touching=False), truth, 0.5))
        for height in SEED_HEIGHTS:
            instances = mask_to_instances(mask, probabilities, seed_height=height)
            scores.setdefault(str(height), []).append(average_precision(instances, truth, 0.5))
    return {key: round(float(np.mean(values)), 4) for key, values in scores.items()}


def seed_scores(predictor: Predictor, pairs, folder: Path) -> dict[str, float]:
    """Scores of a model's predicted masks (specks dropped, as with --instances)."""
    predictions = ((name, predictor.predict(image[:, :, None], instances=True)) for name, image, _ in pairs)
    return mean_scores(((name, p.mask, p.probabilities) for name, p in predictions), folder)


def truth_scores(pairs, folder: Path) -> dict[str, float]:
    """Scores of instances split from the true semantic masks."""
    return mean_scores(((name, mask, None) for name, _, mask in pairs), folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    args = parser.parse_args()
    folder = dataset_dir(DATASETS["dsb"])
    train, test = split("dsb", load_pairs(DATASETS["dsb"]))
    results = {}
    for path in args.models:
        predictor = Predictor.from_checkpoint(path, device="cpu")
        names = {Path(n).stem for n in load_checkpoint(path).history.get("validation_images") or []}
        validation = [pair for pair in train if pair[0] in names]
        if not validation:
            print(f"{path}: the checkpoint names no validation images (trained before they were recorded)",
                  file=sys.stderr)
            continue
        results[str(path)] = {"n_validation": len(validation), "validation": seed_scores(predictor, validation, folder),
                              "test": seed_scores(predictor, test, folder)}
    mean = {part: {key: round(float(np.mean([r[part][key] for r in results.values()])), 4)
                   for key in next(iter(results.values()))[part]} for part in ("validation", "test")} if results else {}
    print(json.dumps({"benchmark": "instance seed height (DSB AP@0.5)", "default": SEED_HEIGHT,
                      "true_masks_of_training_images": truth_scores(train, folder),
                      "models_mean": mean, "models": results}, indent=2))


if __name__ == "__main__":
    main()
