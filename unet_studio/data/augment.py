"""Seeded patch augmentation: one geometric map shared by image, labels and weights; intensity on the image.

Flips and quarter turns alone are exact array ops. Affine and elastic warps (plus any flip or turn drawn
with them) become one pair of float maps for a single cv2.remap per array: linear with reflected borders
for the image and weights, nearest for the labels, where pixels pulled from outside the source become -1.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from unet_studio.data.augment_config import PRESET_NAMES, PRESETS, AugmentConfig

__all__ = ["AugmentConfig", "PRESETS", "PRESET_NAMES", "augment", "crop_window"]


def _dihedral(rng: np.random.Generator, config: AugmentConfig, square: bool) -> tuple[int, bool, bool]:
    """Quarter turns (only a half turn on non-square outputs, so shapes are kept) and the two flips."""
    turns = 0
    if rng.random() < config.rot90_p:
        turns = int(rng.integers(1, 4)) if square else 2
    return turns, rng.random() < config.flip_p, rng.random() < config.flip_p


def _apply_dihedral(array: np.ndarray, turns: int, flip_y: bool, flip_x: bool) -> np.ndarray:
    """rot90 then flips on the last two axes, as views."""
    array = np.rot90(array, turns, axes=(-2, -1))
    if flip_y:
        array = array[..., ::-1, :]
    if flip_x:
        array = array[..., ::-1]
    return array


def _dihedral_matrix(turns: int, flip_y: bool, flip_x: bool) -> np.ndarray:
    """The 2x2 map from output (u, v) offsets to source offsets matching _apply_dihedral."""
    matrix = np.diag([-1.0 if flip_x else 1.0, -1.0 if flip_y else 1.0])
    quarter = np.array([[0.0, -1.0], [1.0, 0.0]])  # one np.rot90: out(u, v) reads in(-v, u)
    return np.linalg.matrix_power(quarter, turns) @ matrix


def _affine(rng: np.random.Generator, config: AugmentConfig, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Random rotation/scale as a 2x2 output-to-source matrix, and a source shift in pixels."""
    angle = math.radians(rng.uniform(-config.rotation_deg, config.rotation_deg))
    low, high = config.scale_range
    scale = math.exp(rng.uniform(math.log(low), math.log(high)))
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    shift = rng.uniform(-1.0, 1.0, size=2) * config.shift_fraction * size
    return np.array([[cos, -sin], [sin, cos]]), shift


def _upsample_matrix(grid: int, length: int) -> np.ndarray:
    """(length, grid) bicubic interpolation weights: field = Ry @ coarse @ Rx.T equals cv2.resize(coarse)."""
    eye = np.eye(grid, dtype=np.float32)
    return cv2.resize(eye, (grid, length), interpolation=cv2.INTER_CUBIC)


def _elastic(rng: np.random.Generator, config: AugmentConfig, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Dense (dx, dy) displacement fields from a coarse grid of gaussian displacements."""
    grid = config.elastic_grid
    rows, cols = _upsample_matrix(grid, shape[0]), _upsample_matrix(grid, shape[1])
    coarse = rng.normal(0.0, config.elastic_sigma, size=(2, grid, grid)).astype(np.float32)
    return tuple(rows @ c @ cols.T for c in coarse)


def _reach_box(maps: tuple[np.ndarray, np.ndarray], shape: tuple[int, int]) -> tuple[slice, slice]:
    """The part of a source of `shape` that the maps read from (plus the interpolation neighbours)."""
    bounds = []
    for coords, length in zip(reversed(maps), shape):
        low = int(np.clip(math.floor(coords.min()) - 1, 0, length - 1))
        high = int(np.clip(math.ceil(coords.max()) + 2, low + 1, length))
        bounds.append(slice(low, high))
    return bounds[0], bounds[1]


def _remap(array: np.ndarray, maps: tuple[np.ndarray, np.ndarray], nearest: bool, border: int) -> np.ndarray:
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.remap(array, maps[0], maps[1], interpolation, borderMode=border, borderValue=0)


def _warp_maps(rng, config, out_shape, origin, dihedral) -> tuple[np.ndarray, np.ndarray] | None:
    """Source coordinates for every output pixel, or None when no affine/elastic warp was drawn."""
    do_affine = rng.random() < config.affine_p
    do_elastic = rng.random() < config.elastic_p
    if not (do_affine or do_elastic):
        return None
    h, w = out_shape
    matrix, shift = _dihedral_matrix(*dihedral), np.zeros(2)
    if do_affine:
        rotation, shift = _affine(rng, config, max(h, w))
        matrix = rotation @ matrix
    u = np.arange(w, dtype=np.float32) - (w - 1) / 2.0
    v = np.arange(h, dtype=np.float32)[:, None] - (h - 1) / 2.0
    centre_x = (w - 1) / 2.0 + origin[1] + shift[0]
    centre_y = (h - 1) / 2.0 + origin[0] + shift[1]
    map_x = (matrix[0, 0] * u + matrix[0, 1] * v + centre_x).astype(np.float32)
    map_y = (matrix[1, 0] * u + matrix[1, 1] * v + centre_y).astype(np.float32)
    if do_elastic:
        dx, dy = _elastic(rng, config, (h, w))
        map_x += dx
        map_y += dy
    return map_x, map_y


def _mirror(start: int, size: int, length: int) -> np.ndarray:
    """Indices start..start+size-1 mirrored into 0..length-1 (edge pixel not repeated, like cv2's REFLECT_101)."""
    if length == 1:
        return np.zeros(size, np.intp)
    period = 2 * length - 2
    index = np.abs(np.arange(start, start + size)) % period
    return np.where(index >= length, period - index, index)


def crop_window(array: np.ndarray, top: int, left: int, shape: tuple[int, int], fill: float | None) -> np.ndarray:
    """The `shape` window at (top, left) of the last two axes, a view when it lies inside the array.

    Parts outside the array are mirrored about its edges (fill None) or set to `fill`.
    """
    height, width = array.shape[-2:]
    if top >= 0 and left >= 0 and top + shape[0] <= height and left + shape[1] <= width:
        return array[..., top : top + shape[0], left : left + shape[1]]
    rows, cols = _mirror(top, shape[0], height), _mirror(left, shape[1], width)
    window = array[..., rows[:, None], cols[None, :]]
    if fill is not None:
        row_in = (np.arange(top, top + shape[0]) >= 0) & (np.arange(top, top + shape[0]) < height)
        col_in = (np.arange(left, left + shape[1]) >= 0) & (np.arange(left, left + shape[1]) < width)
        window[..., ~(row_in[:, None] & col_in[None, :])] = fill
    return window


def _geometric(image, target, weight, rng, config, out_shape, origin):
    """Apply one shared geometric transform to image, target and optional weight."""
    dihedral = _dihedral(rng, config, out_shape[0] == out_shape[1])
    maps = _warp_maps(rng, config, out_shape, origin, dihedral)
    if maps is None:
        fills = (None, -1, 0.0)
        arrays = [image, target] + ([] if weight is None else [weight])
        return [_apply_dihedral(crop_window(a, *origin, out_shape, f), *dihedral) for a, f in zip(arrays, fills)]
    rows, cols = _reach_box(maps, target.shape)
    maps = (maps[0] - cols.start, maps[1] - rows.start)
    target = target[rows, cols]
    if target.min(initial=0) < -1 or target.max(initial=0) >= np.iinfo(np.uint16).max:
        raise ValueError("augment: target labels must lie in -1..65533")
    shifted = (target + 1).astype(np.uint16)  # -1 -> 0, which is also the constant for outside pixels
    new_target = _remap(shifted, maps, nearest=True, border=cv2.BORDER_CONSTANT).astype(np.int64) - 1
    reflect = cv2.BORDER_REFLECT_101
    new_image = np.stack([_remap(channel[rows, cols], maps, nearest=False, border=reflect) for channel in image])
    if weight is None:
        return [new_image, new_target]
    return [new_image, new_target, _remap(weight[rows, cols], maps, nearest=False, border=cv2.BORDER_CONSTANT)]


def _intensity(image: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """Gamma (on the patch's own min..max range), scale/shift, then additive gaussian noise."""
    if rng.random() < config.gamma_p:
        low, high = float(image.min()), float(image.max())
        if high > low:
            gamma = math.exp(rng.uniform(*np.log(config.gamma_range)))
            image = low + (high - low) * ((image - low) / (high - low)) ** gamma
    if rng.random() < config.intensity_p:
        image = image * rng.uniform(*config.intensity_scale) + rng.uniform(-1, 1) * config.intensity_shift
    if rng.random() < config.noise_p:
        std = rng.uniform(0.0, config.noise_std)
        image = image + std * rng.standard_normal(image.shape, dtype=np.float32)
    return image


def augment(
    image: np.ndarray,
    target: np.ndarray,
    rng: np.random.Generator,
    config: AugmentConfig,
    weight: np.ndarray | None = None,
    output_shape: tuple[int, int] | None = None,
    origin: tuple[int, int] | None = None,
) -> tuple[np.ndarray, ...]:
    """Augment a float32 (C,H,W) image with its int64 (H,W) target (and float32 (H,W) weight if given).

    Returns (image, target) or (image, target, weight), new contiguous arrays. With `output_shape` the
    result is a window of that size whose top-left sits at `origin` (default: centred) in the input,
    and warps pull real pixels from all around it: so a patch sampler passes the whole image and the
    window's position, and nothing is copied beyond what the warp reads.
    """
    if image.ndim != 3 or target.shape != image.shape[1:]:
        raise ValueError(f"augment: image (C,H,W) {image.shape} and target (H,W) {target.shape} must match")
    if weight is not None and weight.shape != target.shape:
        raise ValueError(f"augment: weight shape {weight.shape} does not match target {target.shape}")
    out_shape = tuple(output_shape) if output_shape is not None else target.shape
    if origin is None:
        origin = ((target.shape[0] - out_shape[0]) // 2, (target.shape[1] - out_shape[1]) // 2)
    arrays = _geometric(image, target, weight, rng, config, out_shape, tuple(int(o) for o in origin))
    arrays[0] = _intensity(arrays[0], rng, config)
    dtypes = (np.float32, np.int64, np.float32)
    return tuple(np.ascontiguousarray(a, dtype=d) for a, d in zip(arrays, dtypes))
