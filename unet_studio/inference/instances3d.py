"""3-D instances: connected components per class, touching objects split by a watershed in 3-D.

As inference/postprocess.mask_to_instances in 2-D: seeds are the h-maxima of the smoothed distance
transform (a neck narrower than both objects by ``seed_height`` splits them), flooded on the inverted
distance and, when probabilities are given, through the uncertain voxels. The distance is measured in
physical units when the voxel size is known (planes far apart are far apart), in x-y pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import label
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from unet_studio.inference.postprocess import SEED_HEIGHT, label_per_class


def relative_spacing(voxel_size_um: Sequence[float] | None) -> tuple[float, float, float]:
    """(z, y, x) voxel spacing in units of the x-y pixel: (1, 1, 1) when unknown."""
    if not voxel_size_um:
        return (1.0, 1.0, 1.0)
    z, y, x = (float(v) for v in voxel_size_um)
    return (z / x, y / x, 1.0)


def volume_instances(mask: np.ndarray, probabilities: np.ndarray | None = None,
                     voxel_size_um: Sequence[float] | None = None, seed_height: float = SEED_HEIGHT,
                     split_touching: bool = True) -> np.ndarray:
    """Instance labels uint16 (uint32 past 65535) of a (Z, H, W) class mask (0 background, 1..K); an
    instance never spans two classes. `probabilities` (K + 1, Z, H, W) guide the split when given."""
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"volume mask must be (Z, H, W), got shape {mask.shape}")
    spacing = relative_spacing(voxel_size_um)

    def pieces_of(value: int, region: np.ndarray) -> np.ndarray:
        pieces = label(region, connectivity=1).astype(np.int64)
        if not (split_touching and pieces.any()):
            return pieces
        class_probs = None if probabilities is None else np.asarray(probabilities)[value]
        return _split(region, pieces, class_probs, spacing, seed_height)

    return label_per_class(mask, pieces_of)


def _split(region: np.ndarray, pieces: np.ndarray, class_probs: np.ndarray | None,
           spacing: tuple[float, float, float], seed_height: float) -> np.ndarray:
    """Watershed of one class's pieces from the h-maxima of the smoothed distance transform."""
    distance = ndi.distance_transform_edt(region, sampling=spacing)
    smoothed = ndi.gaussian_filter(distance, sigma=[1.0 / s for s in spacing])
    seeds = label(h_maxima(smoothed, seed_height) & region, connectivity=3)
    elevation = -smoothed
    if class_probs is not None:
        elevation = elevation + smoothed.max(initial=0) * (1.0 - class_probs)
    split = watershed(elevation, seeds, mask=region)
    unseeded = (split == 0) & region
    split[unseeded] = pieces[unseeded] + int(seeds.max(initial=0))
    return split
