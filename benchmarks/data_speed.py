"""Per-batch CPU work of training, which runs on the training thread for every step; prints JSON.

A 256 x 256 augmentation with every transform on, the border weight map of a crowded 256 patch, and a
batch of four 256 patches (sampling + augmentation + weight maps). The default model trains at ~9-10
patches/s on 2 cores, so this work must stay well under ~50 ms per batch of four.
Usage: python benchmarks/data_speed.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import make_blobs  # noqa: E402
from unet_studio.data.augment import augment  # noqa: E402
from unet_studio.data.augment_config import AugmentConfig  # noqa: E402
from unet_studio.data.batches import BatchSource  # noqa: E402
from unet_studio.data.sampling import TrainItem  # noqa: E402
from unet_studio.data.weights import border_weight_map  # noqa: E402


def timed(function, repeats: int) -> dict:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    gen = np.random.default_rng(0)
    image, target = gen.random((1, 400, 400), dtype=np.float32), gen.integers(-1, 3, (400, 400))
    strong = replace(AugmentConfig.preset("strong"), affine_p=1.0, elastic_p=1.0, noise_p=1.0, gamma_p=1.0)
    rng = np.random.default_rng(1)
    _, crowded = make_blobs((256, 256), n=40, radius=8, seed=3)
    items = []
    for seed in range(2):
        big, mask = make_blobs((384, 384), n=30, radius=9, seed=seed, dtype=np.float32)
        items.append(TrainItem(big[None], mask.astype(np.int64), f"big{seed}.png"))
    source = BatchSource(items, 256, 4, 0, AugmentConfig(), border_weight=(10.0, 5.0))
    plain = BatchSource(items, 256, 4, 0, AugmentConfig())
    print(json.dumps({
        "augment_256_all_transforms": timed(
            lambda: augment(image, target, rng, strong, output_shape=(256, 256), origin=(72, 72)), args.repeats),
        "border_weight_map_256_crowded": timed(lambda: border_weight_map(crowded.astype(np.int64)), args.repeats),
        "batch_4x256_with_weight_maps": timed(source.next_batch, args.repeats),
        "batch_4x256_without_weight_maps": timed(plain.next_batch, args.repeats),
    }, indent=2))


if __name__ == "__main__":
    main()
