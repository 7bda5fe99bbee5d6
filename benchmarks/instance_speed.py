"""Instance splitting speed: `mask_to_instances` (h-maxima seeds found per piece) next to the plain recipe
(skimage's h-maxima of the whole image, then the same watershed), on masks of random touching discs.
Both must give the same number of objects. Prints JSON.
Usage: python benchmarks/instance_speed.py [--sizes 1024 4096]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import disk
from skimage.measure import label
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from unet_studio.inference.postprocess import SEED_HEIGHT, mask_to_instances


def random_discs(size: int, seed: int = 0) -> np.ndarray:
    """A 0/1 mask with one disc (radius 5-14) per 1500 pixels: many touch, a few merge into clumps."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.uint8)
    for _ in range(size * size // 1500):
        rows, cols = disk(rng.integers(0, size, 2), rng.integers(5, 15), shape=mask.shape)
        mask[rows, cols] = 1
    return mask


def plain_instances(mask: np.ndarray) -> np.ndarray:
    """The textbook recipe with the whole-image h-maxima transform."""
    region = mask > 0
    smoothed = ndi.gaussian_filter(ndi.distance_transform_edt(region), sigma=1.0)
    markers = label(h_maxima(smoothed, SEED_HEIGHT) & region)
    return watershed(-smoothed, markers, mask=region)


def seconds(call, mask: np.ndarray) -> tuple[float, int]:
    start = time.perf_counter()
    labels = call(mask)
    return time.perf_counter() - start, int(len(np.unique(labels)) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        mask = random_discs(size)
        ours, n_ours = seconds(mask_to_instances, mask)
        plain, n_plain = seconds(plain_instances, mask)
        rows.append({"size": size, "objects": n_ours, "same_count": n_ours == n_plain, "ours_s": round(ours, 2),
                     "plain_s": round(plain, 2), "speed-up": round(plain / ours, 2)})
    print(json.dumps({"benchmark": "instance splitting", "seed_height": SEED_HEIGHT, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
