"""benchmarks/paired.py: per-image differences of two recipes and their bootstrap interval."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from paired import paired_difference, paired_differences  # noqa: E402


def _run(scores: dict[str, float], seed: int = 0) -> dict:
    return {"seed": seed, "mean": {"ap": float(np.mean(list(scores.values())))},
            "per_image": {name: {"ap": value} for name, value in scores.items()}}


def test_a_gain_on_every_image_has_an_interval_away_from_zero():
    base = {f"img{i}": 0.5 + 0.04 * i for i in range(10)}
    today = [_run(base, 0), _run({k: v - 0.02 for k, v in base.items()}, 1)]  # seeds averaged per image
    new = [_run({k: v + 0.1 for k, v in base.items()})]
    result = paired_difference(today, new, "ap")
    assert result["mean"] == 0.11 and result["interval_95"] == [0.11, 0.11]
    assert result["new_higher"] == 10 and result["new_lower"] == 0 and result["images"] == 10
    assert result["today_seeds"] == 2 and result["new_seeds"] == 1


def test_differences_that_cancel_give_an_interval_holding_zero():
    rng = np.random.default_rng(1)
    base = {f"img{i}": float(rng.uniform(0.3, 0.9)) for i in range(12)}
    swing = {name: (0.1 if i % 2 else -0.1) for i, name in enumerate(base)}
    result = paired_differences([_run(base)], [_run({k: v + swing[k] for k, v in base.items()})])["ap"]
    low, high = result["interval_95"]
    assert abs(result["mean"]) < 1e-9 and low < 0 < high
    assert result["new_higher"] == result["new_lower"] == 6


def test_only_images_both_scored_are_paired():
    today = [_run({"a": 0.5, "b": 0.6})]
    assert paired_difference(today, [_run({"b": 0.7, "c": 0.1})], "ap")["images"] == 1
    assert paired_difference(today, [_run({"c": 0.1})], "ap") is None
