"""3-D overlap-tile prediction: (z, y, x) tiles with a halo, blended as the 2-D tiler blends.

The volume is cut per axis exactly as inference/tiling.py cuts an image (``fitted_tile`` lengths, starts on
the network's pooling grid from ``axis_starts``: a voxel gets the same prediction in every tile holding it),
with the tile's outer ``overlap`` as the halo. Each tile's probabilities are weighted by the separable
cosine window of the 2-D tiler in all three axes (a small floor in the outer quarter of the overlap, where
zero padding at the tile's faces distorts the output) and the weighted sums divided by the summed weights.
Tiles reaching past the volume's far faces read mirrored voxels and are cropped back.

Probabilities of the whole volume are kept, float32 (K, Z, H, W): MAX_PROBABILITY_BYTES bounds them.
Tiles run one per call, in the runtime precision policy's choice; ``stop`` is checked between tiles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from unet_studio.core.errors import StudioError
from unet_studio.inference.tile_functions import logits_to_probabilities
from unet_studio.inference.tiling import axis_starts, fitted_tile, reflect_indices, window_1d
from unet_studio.models.unet3d import volume_alignment
from unet_studio.runtime.precision import choose_precision

Shape3 = tuple[int, int, int]
Progress = Callable[[int, int], None]
DEFAULT_TILE_3D: Shape3 = (24, 160, 160)
DEFAULT_OVERLAP_3D: Shape3 = (8, 32, 32)
MAX_PROBABILITY_BYTES = 4 * 2**30


def volume_tile_layout(shape: Shape3, tile: Shape3, overlap: Shape3, align: Shape3) -> list[tuple[int, list[int]]]:
    """Per axis (z, y, x): the fitted tile length and the tile starts covering that axis."""
    layout = []
    for size, length, halo, multiple in zip(shape, tile, overlap, align):
        if length < 1 or halo < 0:
            raise StudioError(f"tile {tile}, overlap {overlap}", "tile sides must be >= 1 and overlaps >= 0")
        fitted = fitted_tile(size, max(length, multiple), min(halo, length // 2), multiple)
        layout.append((fitted, axis_starts(size, fitted, min(halo, fitted // 2), multiple)))
    return layout


def blend_window_3d(lengths: Shape3, overlap: Shape3) -> np.ndarray:
    """Separable (z, y, x) blend window: the outer product of the 2-D tiler's window_1d per axis."""
    axes = [window_1d(length, min(halo, length // 2)) for length, halo in zip(lengths, overlap)]
    return np.einsum("i,j,k->ijk", *axes).astype(np.float32)


class VolumeTiles:
    """A 3-D network as a tile function: float32 (C, d, h, w) -> probabilities (K, d, h, w), under
    inference_mode, channels_last_3d, in the precision the runtime policy picks for `device` (fp32 on a
    CPU: see training/volume_trainer.CPU_PRECISION)."""

    def __init__(self, model: nn.Module, device: torch.device | str = "cpu", precision: str = "auto"):
        self.device = torch.device(device)
        self.model = model.to(self.device, memory_format=torch.channels_last_3d).eval()
        self.precision = choose_precision(self.device, "fp32" if self.device.type == "cpu" else precision)
        self.align = volume_alignment(model.config)

    def __call__(self, tile_input: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(tile_input, np.float32))[None].to(self.device)
        with torch.inference_mode(), self.precision.autocast():
            logits = self.model(x.contiguous(memory_format=torch.channels_last_3d))
        return logits_to_probabilities(logits)[0].cpu().numpy()


def predict_volume_probabilities(tiles: VolumeTiles | Callable[[np.ndarray], np.ndarray], volume: np.ndarray,
                                 tile: Shape3 = DEFAULT_TILE_3D, overlap: Shape3 = DEFAULT_OVERLAP_3D,
                                 stop: threading.Event | None = None,
                                 progress: Progress | None = None) -> np.ndarray | None:
    """Softmax probabilities float32 (K, Z, H, W) of a normalised volume float32 (C, Z, H, W); None when
    `stop` was set. `tiles` is a VolumeTiles (or any callable with an `align` (z, y, x))."""
    volume = np.asarray(volume, np.float32)
    shape: Shape3 = tuple(volume.shape[1:])  # type: ignore[assignment]
    align = tuple(getattr(tiles, "align", (1, 1, 1)))
    layout = volume_tile_layout(shape, tile, overlap, align)  # type: ignore[arg-type]
    lengths = tuple(length for length, _ in layout)
    window = blend_window_3d(lengths, overlap)  # type: ignore[arg-type]
    starts = [(z, y, x) for z in layout[0][1] for y in layout[1][1] for x in layout[2][1]]
    output = weights = None
    for done, corner in enumerate(starts, start=1):
        if stop is not None and stop.is_set():
            return None
        index = [reflect_indices(start, start + length, size) for start, length, size in zip(corner, lengths, shape)]
        probs = tiles(volume[(slice(None), *np.ix_(*index))])
        if output is None:
            _check_memory(probs.shape[0], shape)
            output, weights = np.zeros((probs.shape[0], *shape), np.float32), np.zeros(shape, np.float32)
        keep = [min(length, size - start) for start, length, size in zip(corner, lengths, shape)]
        place = tuple(slice(start, start + k) for start, k in zip(corner, keep))
        crop = tuple(slice(0, k) for k in keep)
        output[(slice(None), *place)] += probs[(slice(None), *crop)] * window[crop]
        weights[place] += window[crop]
        if progress is not None:
            progress(done, len(starts))
    return output / weights


def _check_memory(n_classes: int, shape: Shape3) -> None:
    needed = (n_classes + 1) * int(np.prod(shape)) * 4
    if needed > MAX_PROBABILITY_BYTES:
        raise StudioError(f"volume {shape[0]} x {shape[1]} x {shape[2]}",
                          f"its probabilities need {needed / 2**30:.1f} GiB, over the "
                          f"{MAX_PROBABILITY_BYTES / 2**30:.0f} GiB the 3-D tiler keeps; crop the volume")
