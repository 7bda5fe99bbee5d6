"""Is a recipe's gain beyond the noise? The per-image difference of two runs on the same images, with a
bootstrap interval over the images.

Seeds and images both move a benchmark's mean: on the 11 DSB dev images one recipe's seeds span 0.03 of
AP@0.5, about the size of the gains being chosen between. Pairing by image takes the images' own
difficulty out: each image's score is averaged over the seeds each recipe ran (they need not be the same
seeds), the differences new - today are taken image by image, and their mean gets a 95 % interval from
resampling the images. An interval that holds 0 says the two recipes are not told apart by these runs.

Usage: python benchmarks/paired.py --today A.json [...] --new B.json [...]
       (dense.py --json-out files of one recipe each; several files on a side are its seeds run apart)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import bootstrap

ROUNDS = 10_000


def per_image_means(runs: list[dict], key: str) -> dict[str, float]:
    """Each image's `key` averaged over the runs (seeds); images missing from a run are skipped there."""
    by_image: dict[str, list[float]] = {}
    for run in runs:
        for name, scores in run["per_image"].items():
            if scores.get(key) is not None:
                by_image.setdefault(name, []).append(float(scores[key]))
    return {name: float(np.mean(values)) for name, values in by_image.items()}


def paired_difference(today_runs: list[dict], new_runs: list[dict], key: str, rounds: int = ROUNDS,
                      seed: int = 0) -> dict | None:
    """Mean per-image difference new - today of `key` over the images both scored, its 95 % bootstrap
    interval over the images, and on how many images new was higher / lower; None without a shared image."""
    today, new = per_image_means(today_runs, key), per_image_means(new_runs, key)
    names = sorted(set(today) & set(new))
    if not names:
        return None
    differences = np.array([new[name] - today[name] for name in names])
    low = high = differences.mean()  # one image: nothing to resample
    if differences.size > 1:
        interval = bootstrap((differences,), np.mean, n_resamples=rounds, method="percentile", rng=seed)
        low, high = interval.confidence_interval
    return {"mean": round(float(differences.mean()), 4), "interval_95": [round(float(low), 4), round(float(high), 4)],
            "images": len(names), "new_higher": int((differences > 0).sum()), "new_lower": int((differences < 0).sum()),
            "today_seeds": len(today_runs), "new_seeds": len(new_runs)}


def paired_differences(today_runs: list[dict], new_runs: list[dict]) -> dict:
    """paired_difference of every score the two recipes' runs (dense.py's "runs" entries) share."""
    keys = sorted(set(today_runs[0]["mean"]) & set(new_runs[0]["mean"]))
    return {key: paired_difference(today_runs, new_runs, key) for key in keys}


def runs_of(paths: list[Path]) -> list[dict]:
    """The runs (seeds) of one recipe from dense.py --json-out files."""
    return [run for path in paths for run in json.loads(path.read_text())["runs"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", type=Path, nargs="+", required=True, help="dense.py --json-out of the baseline")
    parser.add_argument("--new", type=Path, nargs="+", required=True, help="the candidate's, on the same images")
    args = parser.parse_args()
    paired = paired_differences(runs_of(args.today), runs_of(args.new))
    print(json.dumps({"today": [str(p) for p in args.today], "new": [str(p) for p in args.new], "paired": paired},
                     indent=2))


if __name__ == "__main__":
    main()
