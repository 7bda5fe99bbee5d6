"""Scribble-like sparse labels derived from full masks, in several annotator styles, for the sparse benchmarks.

A person labelling sparsely draws strokes; how they draw them differs. `make_scribbles(mask, style=...)`
imitates one style at a time (annotation 0 unlabelled, 1 background, 2 foreground):

* `inside` (the original benchmark): pieces of each class's skeleton, background eroded first so strokes
  stay well inside it; about `fraction` of the pixels, split evenly between the classes.
* `boundary`: strokes that run right up to the class boundary: background strokes along the 4 px next to the
  foreground, foreground strokes as wide as the foreground.
* `thin`: 1-2 px strokes along the skeletons.
* `sparse`: the `inside` strokes at a quarter of the fraction (0.5 % of pixels by default).
* `clicks`: a few dots of radius 3 per class (centres on the class's skeleton, clipped to the class).
* `random_walk`: random-walk strokes painted with 2-4 px brushes; background strokes wander up to the
  membranes (the background is not eroded).

Strokes on only some slices (`two_slices` in scribble_styles.py) are the `inside` style on a subset of images.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import disk, skeletonize

STYLES = ("inside", "boundary", "thin", "sparse", "clicks", "random_walk")
CLICKS_PER_CLASS = 8
CLICK_RADIUS = 3
BOUNDARY_RING = 4


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


def _clicks_in(region: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` dots of radius CLICK_RADIUS centred on random skeleton pixels, clipped to the region."""
    ys, xs = np.nonzero(skeletonize(region))
    centres = np.zeros(region.shape, bool)
    if ys.size:
        pick = rng.choice(ys.size, min(count, ys.size), replace=False)
        centres[ys[pick], xs[pick]] = True
    return ndi.binary_dilation(centres, disk(CLICK_RADIUS)) & region


def _random_walks_in(region: np.ndarray, budget: int, rng: np.random.Generator, length: int = 80) -> np.ndarray:
    """Random walks (a heading that drifts, turning away from the region's edge) of `length` steps, each
    painted with a brush of diameter 2-4 px clipped to the region, until `budget` pixels are labelled."""
    ys, xs = np.nonzero(region)
    out = np.zeros(region.shape, bool)
    h, w = region.shape
    for _ in range(10_000):
        if ys.size == 0 or out.sum() >= budget:
            break
        start = rng.integers(ys.size)
        y, x, heading = float(ys[start]), float(xs[start]), rng.uniform(0, 2 * np.pi)
        path = np.zeros(region.shape, bool)
        for _ in range(length):
            path[int(y), int(x)] = True
            for _ in range(8):
                heading += rng.normal(0, 0.4)
                ny, nx = y + np.sin(heading), x + np.cos(heading)
                if 0 <= ny < h and 0 <= nx < w and region[int(ny), int(nx)]:
                    y, x = ny, nx
                    break
                heading += rng.uniform(np.pi / 2, 3 * np.pi / 2)
            else:
                break
        diameter = int(rng.integers(2, 5))
        brush = np.ones((diameter, diameter), bool)
        out |= ndi.binary_dilation(path, brush) & region
    return out


def make_scribbles(mask: np.ndarray, fraction: float = 0.02, seed: int = 0, style: str = "inside") -> np.ndarray:
    """Annotation (0 unlabelled, 1 background, 2 foreground) drawn in `style` (see the module docstring)."""
    if style not in STYLES:
        raise ValueError(f"unknown scribble style {style!r}; choose one of {', '.join(STYLES)}")
    rng = np.random.default_rng(seed)
    annotation = np.zeros(mask.shape, np.uint8)
    foreground = mask > 0
    background = ~foreground
    if style == "sparse":
        fraction /= 4
    budget = int(fraction * mask.size / 2)
    if style in ("inside", "sparse"):
        # Thick classes are eroded so strokes stay well inside; thin membranes keep their centre line.
        bg = _strokes_in(ndi.binary_erosion(background, disk(3)), budget, rng, reach=12, width=3)
        fg = _strokes_in(foreground, budget, rng, reach=12, width=2)
    elif style == "boundary":
        # Background strokes along a ring touching the membranes; membrane strokes as wide as the membrane.
        ring = background & ndi.binary_dilation(foreground, disk(BOUNDARY_RING))
        bg = _strokes_in(ring, budget, rng, reach=12, width=2 * BOUNDARY_RING + 1)
        fg = _strokes_in(foreground, budget, rng, reach=12, width=15)
    elif style == "thin":
        bg = _strokes_in(ndi.binary_erosion(background, disk(3)), budget, rng, reach=20, width=int(rng.integers(1, 3)))
        fg = _strokes_in(foreground, budget, rng, reach=20, width=1)
    elif style == "clicks":
        bg = _clicks_in(ndi.binary_erosion(background, disk(CLICK_RADIUS)), CLICKS_PER_CLASS, rng)
        fg = _clicks_in(foreground, CLICKS_PER_CLASS, rng)
    else:
        bg = _random_walks_in(background, budget, rng)
        fg = _random_walks_in(foreground, budget, rng)
    annotation[bg] = 1
    annotation[fg] = 2
    return annotation
