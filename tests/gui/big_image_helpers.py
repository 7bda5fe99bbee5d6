"""Helpers for the big-image GUI tests: a small synthetic OME-Zarr pyramid (NGFF 0.4) written in the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pattern(size: int, level: int) -> np.ndarray:
    """A uint16 image whose value tells the pixel's level-0 position (gradients), subsampled by 2**level."""
    step = 2**level
    rows = np.arange(0, size, step, dtype=np.uint32)[:, None]
    cols = np.arange(0, size, step, dtype=np.uint32)[None, :]
    return ((rows * 7 + cols * 3) % 65535).astype(np.uint16)


def write_ome_zarr(folder: Path, size: int = 4096, n_levels: int = 3, chunk: int = 512) -> Path:
    """An OME-Zarr folder of a size x size uint16 image with n_levels levels (each half the last)."""
    import zarr

    group = zarr.open_group(str(folder), mode="w", zarr_format=2)
    datasets = []
    for level in range(n_levels):
        pixels = pattern(size, level)
        array = group.create_array(str(level), shape=pixels.shape, dtype=pixels.dtype, chunks=(chunk, chunk))
        array[...] = pixels
        datasets.append({"path": str(level),
                         "coordinateTransformations": [{"type": "scale", "scale": [2.0**level, 2.0**level]}]})
    axes = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    group.attrs.update({"multiscales": [{"version": "0.4", "name": "big", "axes": axes, "datasets": datasets}]})
    return folder
