"""MultiscaleImage: one image stored as a pyramid of levels, read region by region, never whole.

The readers (``io.ome_zarr`` for OME-Zarr folders, ``io.ome_zarr_tiff`` for tiled/pyramidal TIFFs) hand it
one array-like per level (anything indexable with numpy slices: zarr arrays, tifffile's zarr store) and the
axes string of those arrays; only the requested region's chunks are decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from unet_studio.core.errors import ImageReadError
from unet_studio.core.image_headers import DECODER_ERRORS


class MultiscaleImage:
    """A lazy multiscale image.

    ``levels`` are the (H, W) of each level (level 0 = full size, then smaller); ``channels`` the number of
    channels (``read`` gives (h, w) for one channel, (h, w, C) for more); axes other than Y, X and the
    channel axis (T, Z, ...) are read at index 0. ``pixel_size_um`` is level 0's pixel width, or None.
    """

    def __init__(self, path: Path, arrays: Sequence, axes: str, pixel_size_um: float | None = None,
                 channel_names: tuple[str, ...] = (), scales: Sequence[float] | None = None,
                 on_close: Callable[[], None] | None = None):
        self.path = Path(path)
        axes = axes.upper()
        if "Y" not in axes or "X" not in axes or not arrays:
            raise ImageReadError(self.path, f"cannot read multiscale image (axes {axes!r}: no Y and X)")
        self._arrays, self._axes = list(arrays), axes
        self._channel_axis = next((axes.index(a) for a in "CS" if a in axes), None)
        for i, array in enumerate(self._arrays):
            if len(array.shape) != len(axes):
                raise ImageReadError(self.path, f"cannot read multiscale image (level {i} has shape {tuple(array.shape)}, "
                                                f"axes {axes!r})")
        y, x = axes.index("Y"), axes.index("X")
        self.levels: tuple[tuple[int, int], ...] = tuple((int(a.shape[y]), int(a.shape[x])) for a in self._arrays)
        if any(h <= 0 or w <= 0 for h, w in self.levels):
            raise ImageReadError(self.path, f"cannot read multiscale image (a level has a zero-size side: {self.levels})")
        self.channels = 1 if self._channel_axis is None else int(self._arrays[0].shape[self._channel_axis])
        self.dtype = np.dtype(self._arrays[0].dtype)
        self.pixel_size_um = pixel_size_um
        self.channel_names = channel_names if len(channel_names) == self.channels else _default_names(self.channels)
        width0 = self.levels[0][1]
        self._scales = tuple(float(s) for s in scales) if scales else tuple(width0 / w for _, w in self.levels)
        self._on_close = on_close

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of level 0."""
        return self.levels[0]

    def level_scale(self, level: int) -> float:
        """How many level-0 pixels one pixel of ``level`` spans (1.0 for level 0, 2.0 for a 2x smaller one)."""
        return self._scales[level]

    def level_for_scale(self, downsample: float) -> int:
        """The coarsest level whose pixels are no larger than ``downsample`` level-0 pixels."""
        fitting = [i for i, s in enumerate(self._scales) if s <= max(1.0, downsample) * (1 + 1e-6)]
        return max(fitting, key=lambda i: self._scales[i]) if fitting else 0

    def read(self, level: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Pixels of the region [y0:y1, x0:x1] of ``level`` (clipped to the level), (h, w) or (h, w, C),
        in the file's dtype; only the chunks overlapping the region are read."""
        if not 0 <= level < len(self.levels):
            raise ImageReadError(self.path, f"level {level} out of range (the image has {len(self.levels)} levels)")
        height, width = self.levels[level]
        y0, y1 = max(0, int(y0)), min(height, int(y1))
        x0, x1 = max(0, int(x0)), min(width, int(x1))
        if y1 <= y0 or x1 <= x0:
            return np.zeros((0, 0) if self.channels == 1 else (0, 0, self.channels), self.dtype)
        index, kept = [], ""
        for i, axis in enumerate(self._axes):
            if axis == "Y":
                index.append(slice(y0, y1))
            elif axis == "X":
                index.append(slice(x0, x1))
            elif i == self._channel_axis:
                index.append(slice(None))
            else:
                index.append(0)
                continue
            kept += axis
        try:
            block = np.asarray(self._arrays[level][tuple(index)])
        except DECODER_ERRORS as exc:
            raise ImageReadError(self.path, f"cannot read level {level} region y {y0}:{y1} x {x0}:{x1} ({exc})") from exc
        order = [kept.index("Y"), kept.index("X")]
        if self._channel_axis is not None:
            order.append(next(i for i, a in enumerate(kept) if a not in "YX"))
        block = np.transpose(block, order)
        return np.ascontiguousarray(block[:, :, 0] if self.channels == 1 and block.ndim == 3 else block)

    def close(self) -> None:
        """Release the file handles (TIFF); reading afterwards is an error."""
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def __enter__(self) -> MultiscaleImage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MultiscaleImage({str(self.path)!r}, levels={self.levels}, channels={self.channels}, dtype={self.dtype})"


def _default_names(channels: int) -> tuple[str, ...]:
    return ("gray",) if channels == 1 else tuple(f"channel {i + 1}" for i in range(channels))
