"""Rectangles for a preview that comes in pieces: the visible viewport first, then the rest of the image.

A region is (y0, x0, y1, x1) in image pixels, end exclusive. A region is predicted from a crop that
reaches `context` pixels further on each side (clipped to the image), so its edge pixels see the same
neighbourhood as in a whole-image prediction; only the region itself is kept.
"""

from __future__ import annotations

Region = tuple[int, int, int, int]


def clip_region(region: Region, shape: tuple[int, int]) -> Region | None:
    """The region inside an image of `shape` (H, W), or None when nothing of it is left."""
    h, w = shape
    y0, x0, y1, x1 = max(0, region[0]), max(0, region[1]), min(h, region[2]), min(w, region[3])
    return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None


def context_crop(region: Region, shape: tuple[int, int], context: int) -> tuple[Region, Region]:
    """(crop to predict, where the region lies inside that crop): the crop is the region grown by
    `context` pixels on every side, clipped to the image."""
    y0, x0, y1, x1 = region
    crop = clip_region((y0 - context, x0 - context, y1 + context, x1 + context), shape)
    assert crop is not None
    cy0, cx0 = crop[0], crop[1]
    return crop, (y0 - cy0, x0 - cx0, y1 - cy0, x1 - cx0)


def rest_regions(shape: tuple[int, int], region: Region) -> list[Region]:
    """The image outside `region` as at most four rectangles: the bands above and below it (full width),
    then the pieces left and right of it."""
    h, w = shape
    y0, x0, y1, x1 = region
    pieces = [(0, 0, y0, w), (y1, 0, h, w), (y0, 0, y1, x0), (y0, x1, y1, w)]
    return [p for p in pieces if p[0] < p[2] and p[1] < p[3]]
