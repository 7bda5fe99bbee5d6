"""Scribble-like sparse labels derived from full masks, for the sparse-training benchmark.

A person labelling sparsely draws short strokes well inside each class: along membranes, across cell
interiors. We imitate that: strokes follow the skeleton of each class region (eroded first, so strokes stay
inside it), a random piece of skeleton near a random seed at a time, until about `fraction` of the pixels
are labelled, split evenly between the classes.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import disk, skeletonize


def _strokes_in(region: np.ndarray, budget: int, rng: np.random.Generator, reach: int, width: int) -> np.ndarray:
    """Pieces of the region's skeleton within `reach` px of random seeds, thickened to `width` px."""
    skeleton = skeletonize(region)
    ys, xs = np.nonzero(skeleton)
    out = np.zeros(region.shape, bool)
    if ys.size == 0:
        return out
    brush = disk(max(0, width // 2))
    order = rng.permutation(ys.size)
    for idx in order:
        if out.sum() >= budget:
            break
        cy, cx = ys[idx], xs[idx]
        near = (np.abs(ys - cy) <= reach) & (np.abs(xs - cx) <= reach)
        piece = np.zeros(region.shape, bool)
        piece[ys[near], xs[near]] = True
        piece = ndi.binary_dilation(piece, brush) & region
        out |= piece
    return out


def make_scribbles(mask: np.ndarray, fraction: float = 0.02, seed: int = 0) -> np.ndarray:
    """Annotation (0 unlabelled, 1 background, 2 foreground) with about `fraction` of pixels labelled."""
    rng = np.random.default_rng(seed)
    annotation = np.zeros(mask.shape, np.uint8)
    budget = int(fraction * mask.size / 2)
    foreground = mask > 0
    fg_region = foreground
    # Thick classes are eroded so strokes stay well inside; thin membranes keep their centre line.
    bg_region = ndi.binary_erosion(~foreground, disk(3))
    annotation[_strokes_in(bg_region, budget, rng, reach=12, width=3)] = 1
    annotation[_strokes_in(fg_region, budget, rng, reach=12, width=2)] = 2
    return annotation
