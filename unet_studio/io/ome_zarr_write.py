"""Writing OME-Zarr multiscale images (NGFF 0.4 on zarr v2, or 0.5 on zarr v3): the store ``convert`` and
streamed prediction fill. Level 0 is written region by region by the caller; ``build_pyramid`` then makes
each smaller level from the one above, one output chunk at a time (mean of 2 x 2 pixels for images,
nearest for labels), so memory stays at a few chunks whatever the image size.

A new store is written under a hidden temporary name beside the target and renamed into place by
``finish``: a crash leaves no half image under the target's name.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unet_studio.core.errors import ProjectError, StudioError

NGFF_VERSIONS = ("0.4", "0.5")
DEFAULT_CHUNK = 1024
OWN_KEY = "unet_studio"  # our attribute in the stores we write: what they hold, and that we may replace them


def level_shapes(height: int, width: int, min_side: int = DEFAULT_CHUNK) -> list[tuple[int, int]]:
    """Level 0 and every halving (rounded up) until the longer side is under ``min_side``."""
    shapes = [(int(height), int(width))]
    while max(shapes[-1]) >= min_side:
        h, w = shapes[-1]
        shapes.append((-(-h // 2), -(-w // 2)))
    return shapes


def downsample_mean(block: np.ndarray) -> np.ndarray:
    """(h, w[, C]) -> (ceil(h/2), ceil(w/2)[, C]): the mean of each 2 x 2 (an odd edge row/column repeated),
    rounded for integer dtypes."""
    h, w = block.shape[:2]
    pad = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (block.ndim - 2)
    padded = np.pad(block, pad, mode="edge") if h % 2 or w % 2 else block
    values = padded.astype(np.float64 if block.dtype.itemsize > 2 else np.float32)
    mean = (values[0::2, 0::2] + values[1::2, 0::2] + values[0::2, 1::2] + values[1::2, 1::2]) * 0.25
    if block.dtype.kind in "ui":
        info = np.iinfo(block.dtype)
        return np.clip(np.rint(mean), info.min, info.max).astype(block.dtype)
    return mean.astype(block.dtype)


def downsample_nearest(block: np.ndarray) -> np.ndarray:
    """Every second pixel (top-left of each 2 x 2): labels keep their values."""
    return np.ascontiguousarray(block[0::2, 0::2])


@dataclass
class OmeZarrWriter:
    """An OME-Zarr image being written: ``levels[i]`` are its zarr arrays ((H, W) or (C, H, W))."""

    target: Path
    temp: Path
    levels: list
    chunk: int
    channels: int
    attrs: dict = field(default_factory=dict)

    def write(self, y0: int, x0: int, pixels: np.ndarray) -> None:
        """Write level-0 pixels (h, w) or (h, w, C) with their top-left corner at (y0, x0)."""
        pixels = np.asarray(pixels)
        h, w = pixels.shape[:2]
        if self.channels > 1:
            self.levels[0][:, y0:y0 + h, x0:x0 + w] = np.moveaxis(pixels.reshape(h, w, -1), -1, 0)
        else:
            self.levels[0][y0:y0 + h, x0:x0 + w] = pixels.reshape(h, w)

    def build_pyramid(self, method: str = "mean", progress: Callable[[int, int], None] | None = None) -> None:
        """Fill levels 1.. from level 0, one output chunk at a time."""
        reduce = downsample_mean if method == "mean" else downsample_nearest
        jobs = [(i, y, x) for i in range(1, len(self.levels)) for y in range(0, self.levels[i].shape[-2], self.chunk)
                for x in range(0, self.levels[i].shape[-1], self.chunk)]
        for done, (i, y, x) in enumerate(jobs, start=1):
            above, level = self.levels[i - 1], self.levels[i]
            h, w = min(self.chunk, level.shape[-2] - y), min(self.chunk, level.shape[-1] - x)
            if self.channels > 1:
                block = np.moveaxis(np.asarray(above[:, 2 * y:2 * (y + h), 2 * x:2 * (x + w)]), 0, -1)
                level[:, y:y + h, x:x + w] = np.moveaxis(reduce(block)[:h, :w], -1, 0)
            else:
                level[y:y + h, x:x + w] = reduce(np.asarray(above[2 * y:2 * (y + h), 2 * x:2 * (x + w)]))[:h, :w]
            if progress is not None:
                progress(done, len(jobs))

    def finish(self, replace_ours: bool = False) -> Path:
        """Rename the finished store to its target. An existing target is refused, unless ``replace_ours``
        and it is a store this program wrote (then it is replaced); a user's data is never deleted."""
        if self.target.exists():
            if not (replace_ours and written_by_us(self.target)):
                self.abandon()
                raise StudioError(self.target, "already exists; remove it or choose another output name")
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.replace(self.target, old)
            os.replace(self.temp, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.temp, self.target)
        return self.target

    def abandon(self) -> None:
        """Delete the temporary store (after a failure or a stop)."""
        shutil.rmtree(self.temp, ignore_errors=True)


def written_by_us(path: Path) -> bool:
    """True for an OME-Zarr folder carrying our attribute (a previous output of convert or predict)."""
    from unet_studio.core.lazy_images import read_ngff_attrs

    attrs = read_ngff_attrs(path)
    return attrs is not None and isinstance(attrs.get(OWN_KEY), dict)


def create_ome_zarr(target: str | os.PathLike, shape: tuple[int, int], dtype, channels: int = 1,
                    chunk: int = DEFAULT_CHUNK, pixel_size_um: float | None = None, ngff: str = "0.4",
                    channel_names: tuple[str, ...] = (), own: dict | None = None, name: str | None = None) -> OmeZarrWriter:
    """Create the arrays and NGFF metadata of a multiscale image (levels from ``level_shapes``; axes y, x or
    c, y, x; scale = pixel size in micrometres per level, or 1 per pixel without one), under a temporary
    name beside ``target``; blosc-lz4 compressed chunks of ``chunk`` pixels."""
    import numcodecs
    import zarr
    from zarr.codecs import BloscCodec

    if ngff not in NGFF_VERSIONS:
        raise StudioError(f"NGFF {ngff}", f"choose one of {', '.join(NGFF_VERSIONS)}")
    target = Path(target)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(temp, ignore_errors=True)
    v2 = ngff == "0.4"
    try:
        group = zarr.open_group(str(temp), mode="w", zarr_format=2 if v2 else 3)
    except OSError as exc:
        raise ProjectError(target, f"cannot write ({exc.strerror or exc})") from exc
    options = ({"compressors": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE),
                "chunk_key_encoding": {"name": "v2", "separator": "/"}} if v2
               else {"compressors": BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle")})
    lead = (channels,) if channels > 1 else ()
    levels, datasets = [], []
    step = pixel_size_um or 1.0
    for i, (h, w) in enumerate(level_shapes(*shape, min_side=chunk)):
        levels.append(group.create_array(str(i), shape=lead + (h, w), chunks=(1,) * len(lead) + (chunk, chunk),
                                         dtype=np.dtype(dtype), fill_value=0, **options))
        factor = shape[1] / w
        datasets.append({"path": str(i), "coordinateTransformations": [
            {"type": "scale", "scale": [1.0] * len(lead) + [step * factor, step * factor]}]})
    unit = {"unit": "micrometer"} if pixel_size_um else {}
    axes = ([{"name": "c", "type": "channel"}] if lead else []) + [
        {"name": "y", "type": "space", **unit}, {"name": "x", "type": "space", **unit}]
    multiscale = {"name": name or target.name, "axes": axes, "datasets": datasets, "type": "mean"}
    attrs: dict = {"multiscales": [{"version": "0.4", **multiscale} if v2 else multiscale]}
    if channel_names and len(channel_names) == channels:
        attrs["omero"] = {"channels": [{"label": str(n), "active": True} for n in channel_names]}
    attrs[OWN_KEY] = dict(own or {})
    group.attrs.update(attrs if v2 else {"ome": {"version": "0.5", **attrs}})
    return OmeZarrWriter(target, temp, levels, chunk, channels, attrs)
