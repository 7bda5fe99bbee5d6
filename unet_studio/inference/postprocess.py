"""From probabilities to masks and instances: thresholding, clean-up, watershed splitting of touching objects.

Masks follow the conventional layout (0 = background, 1..K = object classes): argmax of the network's
``K + 1`` outputs. Instances are label images with 0 = background and 1..N objects.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import label
from skimage.morphology import h_maxima
from skimage.segmentation import find_boundaries, relabel_sequential, watershed


def mask_dtype(n_values: int) -> np.dtype:
    """uint8 up to 255, uint16 up to 65535, uint32 beyond."""
    if n_values <= np.iinfo(np.uint8).max:
        return np.dtype(np.uint8)
    if n_values <= np.iinfo(np.uint16).max:
        return np.dtype(np.uint16)
    return np.dtype(np.uint32)


def classify_pixels(probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Pixel-wise class of probabilities ``(K, H, W)``: argmax, or for ``K == 2`` with a threshold,
    foreground where ``probs[1] >= threshold``. Returns uint8 (uint16 past 255 classes)."""
    probs = np.asarray(probs)
    dtype = mask_dtype(probs.shape[0] - 1)
    if threshold is not None and probs.shape[0] == 2:
        return (probs[1] >= threshold).astype(dtype)
    return np.argmax(probs, axis=0).astype(dtype)


def clean_mask(mask: np.ndarray, min_size: int = 0, fill_holes: bool = False) -> np.ndarray:
    """Per object class: drop connected pieces smaller than ``min_size`` pixels (they become background)
    and, with ``fill_holes``, fill enclosed background holes (of any size) with that class.

    Sizes are counted with label + bincount rather than skimage's remove_small_objects, whose size
    argument changed meaning in scikit-image 0.26 (we support 0.22+)."""
    mask = mask.copy()
    for value in np.unique(mask):
        if value == 0:
            continue
        region = mask == value
        if min_size > 0:
            pieces = label(region, connectivity=1)
            small = np.bincount(pieces.ravel()) < min_size
            small[0] = False
            mask[small[pieces]] = 0
            region = mask == value
        if fill_holes:
            mask[ndi.binary_fill_holes(region) & (mask == 0)] = value
    return mask


def probabilities_to_mask(
    probs: np.ndarray, threshold: float | None = None, min_size: int = 0, fill_holes: bool = False
) -> np.ndarray:
    """Mask ``(H, W)`` from probabilities ``(K, H, W)``: see :func:`classify_pixels` and :func:`clean_mask`."""
    mask = classify_pixels(probs, threshold)
    if min_size > 0 or fill_holes:
        mask = clean_mask(mask, min_size, fill_holes)
    return mask


def _sequential(labels: np.ndarray) -> np.ndarray:
    """Relabel 1..N and store as uint16, or uint32 past 65535 objects."""
    relabelled, _, _ = relabel_sequential(labels)
    count = int(relabelled.max(initial=0))
    return relabelled.astype(np.uint16 if count <= np.iinfo(np.uint16).max else np.uint32)


def label_per_class(mask: np.ndarray, pieces_of) -> np.ndarray:
    """Instances 1..N (uint16, uint32 past 65535) of a class mask, 2-D or 3-D: `pieces_of(value, region)`
    labels one class's region (ints, 0 outside it); ids are offset class by class, so no instance spans two
    classes."""
    mask = np.asarray(mask)
    instances = np.zeros(mask.shape, np.int64)
    offset = 0
    for value in np.unique(mask):
        if value == 0:
            continue
        region = mask == value
        pieces = pieces_of(int(value), region)
        instances[region] = pieces[region] + offset
        offset += int(pieces.max(initial=0))
    return _sequential(instances)


SEED_HEIGHT = 1.0  # pixels; best at recovering DSB 2018 nuclei from their true masks (benchmarks/instance_seeds.py)


def mask_to_instances(
    mask: np.ndarray,
    probs: np.ndarray | None = None,
    seed_height: float = SEED_HEIGHT,
    split_touching: bool = True,
) -> np.ndarray:
    """Instance labels from a mask: connected components per class, then a distance-transform watershed
    that splits touching round objects.

    Seeds are the regional maxima of the smoothed Euclidean distance transform that stand at least
    ``seed_height`` pixels above the saddle joining them to a higher peak (h-maxima): two nuclei are split
    where the neck between them is narrower than both, while a bumpy outline stays one object. When
    ``probs`` are given the flooding also follows the class probability, so splits run through uncertain
    pixels. Each class is split on its own, so an instance never spans two classes.
    """
    def pieces_of(value: int, region: np.ndarray) -> np.ndarray:
        pieces = label(region, connectivity=1).astype(np.int64)
        if not split_touching:
            return pieces
        class_probs = None if probs is None else np.asarray(probs)[value]
        return _split_touching(region, pieces, class_probs, seed_height)

    return label_per_class(mask, pieces_of)


def _split_touching(region, pieces, class_probs, seed_height) -> np.ndarray:
    """Watershed of one class's connected pieces from h-maxima of the smoothed distance transform."""
    smoothed = ndi.gaussian_filter(ndi.distance_transform_edt(region), sigma=1.0)
    markers = _seeds(smoothed, pieces, seed_height)
    elevation = -smoothed
    if class_probs is not None:
        elevation = elevation + smoothed.max(initial=0) * (1.0 - class_probs)
    split = watershed(elevation, markers, mask=region)
    unseeded = (split == 0) & region
    split[unseeded] = pieces[unseeded] + int(markers.max(initial=0))
    return split


def _seeds(smoothed: np.ndarray, pieces: np.ndarray, seed_height: float) -> np.ndarray:
    """Seed labels: the h-maxima of ``smoothed`` in each piece.

    The h-maxima transform of a whole large image is slow (30 s at 4096 x 4096), so it runs only on the
    bounding box of pieces with more than one local maximum; a piece with one has exactly one seed.
    """
    is_peak = (smoothed == ndi.maximum_filter(smoothed, size=3)) & (pieces > 0)
    peaks = label(is_peak, connectivity=2)
    n_pieces = int(pieces.max(initial=0))
    peak_piece = np.zeros(int(peaks.max(initial=0)) + 1, np.int64)
    peak_piece[peaks[is_peak]] = pieces[is_peak]
    peaks_per_piece = np.bincount(peak_piece[1:], minlength=n_pieces + 1)
    markers = np.where(peaks_per_piece[pieces] == 1, peaks, 0)
    offset = int(peaks.max(initial=0))
    for index, box in enumerate(ndi.find_objects(pieces), start=1):
        if box is None or peaks_per_piece[index] < 2:
            continue
        inside = pieces[box] == index
        tops = label(h_maxima(np.where(inside, smoothed[box], 0.0), seed_height) & inside, connectivity=2)
        markers[box][tops > 0] = tops[tops > 0] + offset
        offset += int(tops.max(initial=0))
    return markers


# --- the touching-border recipe (core/instance_targets.py): one more output, object pixels near another ---

SEED_LEVEL = 0.5  # probability of object interior (not border) that makes a seed; chosen on validation images


def fold_border(probs: np.ndarray) -> np.ndarray:
    """Class probabilities ``(K + 1, H, W)`` from a touching-border network's ``(K + 2, H, W)``: the border
    output goes back to the object classes in proportion to their own probabilities (all of it for one class),
    so masks, previews and scores see the project's classes only."""
    probs = np.asarray(probs, np.float32)
    objects, border = probs[1:-1], probs[-1]
    if objects.shape[0] == 1:
        share = np.ones_like(objects)
    else:
        total = objects.sum(axis=0, keepdims=True)
        share = np.where(total > 0, objects / np.maximum(total, 1e-12), 1.0 / objects.shape[0])
    return np.concatenate([probs[:1], objects + border[None] * share], axis=0)


SHAPE_HEIGHT = 2.0  # pixels; the second split of border instances (split_by_shape), chosen on DSB dev images


def border_instances(probs: np.ndarray, mask: np.ndarray, seed_level: float = SEED_LEVEL,
                     shape_height: float | None = None) -> np.ndarray:
    """Instances from a touching-border network's probabilities ``(K + 2, H, W)`` and its class ``mask``:
    seeds are the pieces of each class's region whose interior probability (the class outputs, without the
    border) is at least ``seed_level``; a watershed on the border probability grows them over the region, so
    touching objects part where the border was predicted. A piece with no seed stays one object. With a
    ``shape_height``, each object is then split again where its outline has a neck (:func:`split_by_shape`):
    touching objects whose border the network missed."""
    probs = np.asarray(probs)
    interior, border = probs[1:-1].sum(axis=0), probs[-1]

    def pieces_of(_value: int, region: np.ndarray) -> np.ndarray:
        seeds = label(region & (interior >= seed_level), connectivity=1).astype(np.int64)
        grown = watershed(border, seeds, mask=region) if seeds.any() else seeds
        unseeded = region & (grown == 0)
        if unseeded.any():
            rest = label(unseeded, connectivity=1)
            grown[unseeded] = rest[unseeded] + int(grown.max(initial=0))
        return grown if shape_height is None else split_by_shape(grown, shape_height)

    return label_per_class(mask, pieces_of)


def split_by_shape(instances: np.ndarray, height: float) -> np.ndarray:
    """Instances (ints, 0 background) with each object split where its own outline has a neck: seeds are the
    h-maxima (``height`` px) of the smoothed distance to the object's edge, including edges shared with
    neighbours, and a watershed within the object grows them. An object with one seed is left as it is."""
    instances = np.asarray(instances).astype(np.int64)
    inner = (instances > 0) & ~find_boundaries(instances, mode="thick")
    smoothed = ndi.gaussian_filter(ndi.distance_transform_edt(inner), sigma=1.0)
    markers = _seeds(smoothed, instances, height)
    seeded = markers > 0
    owners = np.unique(np.stack([instances[seeded], markers[seeded]]), axis=1)[0]  # an object per distinct seed
    boxes = ndi.find_objects(instances)
    split, next_id = instances.copy(), int(instances.max(initial=0)) + 1
    for index in np.flatnonzero(np.bincount(owners, minlength=len(boxes) + 1) >= 2):
        box = boxes[index - 1]
        inside = instances[box] == index
        seeds = np.where(inside, markers[box], 0)
        grown = watershed(-smoothed[box], seeds, mask=inside)
        for seed in np.unique(seeds[seeds > 0])[1:]:
            split[box][grown == seed] = next_id
            next_id += 1
    return split


def drop_small_instances(instances: np.ndarray, min_size: int) -> np.ndarray:
    """Instances with objects under ``min_size`` pixels removed, relabelled 1..N."""
    if min_size <= 0 or not instances.any():
        return instances
    small = np.bincount(instances.ravel()) < min_size
    small[0] = False
    return _sequential(np.where(small[instances], 0, instances))


def border_mask(probs: np.ndarray, threshold: float | None = None, min_size: int = 0,
                fill_holes: bool = False) -> np.ndarray:
    """The class mask of a touching-border network's ``(K + 2, H, W)`` probabilities. Without a threshold a
    pixel is background where that output is the largest of all (the argmax of the network, border included;
    early in training the folded object probability passed 0.5 on whole backgrounds where background was still
    the likeliest single output), an object pixel taking the likeliest object class; with one, where the folded
    object probability reaches it (two classes)."""
    folded = fold_border(probs)
    if threshold is None:
        classes = folded[1:].argmax(axis=0) + 1
        mask = np.where(np.asarray(probs).argmax(axis=0) > 0, classes, 0).astype(mask_dtype(folded.shape[0] - 1))
        return clean_mask(mask, min_size, fill_holes) if min_size > 0 or fill_holes else mask
    return probabilities_to_mask(folded, threshold, min_size, fill_holes)


def border_prediction(probs: np.ndarray, threshold: float | None = None, min_size: int = 0,
                      seed_level: float = SEED_LEVEL, fill_holes: bool = False,
                      shape_height: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mask, instances) of a touching-border network's probabilities ``(K + 2, H, W)``: the mask from
    :func:`border_mask` (pieces under ``min_size`` dropped), the instances from :func:`border_instances` with
    objects under ``min_size`` dropped."""
    mask = border_mask(probs, threshold, min_size, fill_holes)
    return mask, drop_small_instances(border_instances(probs, mask, seed_level, shape_height), min_size)
