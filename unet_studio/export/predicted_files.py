"""One image file in, one mask (or instance label) file out: the per-image work of `unet-studio predict`.

The local loop and the Dask workers (inference/dask_predict.py) both call `predict_file`, so the two
paths write the same bytes. A stack (Z or T planes) is predicted plane by plane with the 2-D model into one
multi-page `<stem>.tif` (every plane; instance ids numbered on through the planes, so no two planes share
one), unless `plane` picks one plane, which gives the single-plane file of a flat image.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_studio.core.errors import ImageReadError, StudioError
from unet_studio.core.images import image_info, read_image
from unet_studio.export.masks import write_instances, write_semantic_mask
from unet_studio.export.volume import write_volume_labels
from unet_studio.inference.postprocess import SEED_HEIGHT


@dataclass(frozen=True)
class FileOptions:
    """How each image is predicted and written (plain values: they travel to Dask workers)."""

    plane: int | None = None  # None: every plane of a stack (plane 0 of a flat image)
    instances: bool = False
    tta: bool | None = None
    min_size: int | None = None
    fill_holes: bool = False
    seed_height: float = SEED_HEIGHT
    split_touching: bool = True
    seed_level: float | None = None
    shape_height: float | None = None  # None: the model's choice; 0: off

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FileOptions:
        """The options of a parsed `predict` command line."""
        return cls(plane=args.plane, instances=args.instances, tta=args.tta, min_size=args.min_size,
                   fill_holes=args.fill_holes, seed_height=args.seed_height, split_touching=not args.no_split,
                   seed_level=args.seed_level, shape_height=args.shape_height)


def is_stack(path: Path) -> bool:
    """Whether an image file holds several planes (its header says so; an unreadable one counts as flat,
    and predicting it says why)."""
    try:
        return image_info(path).n_planes > 1
    except ImageReadError:
        return False


def target_suffix(path: Path, options: FileOptions) -> str:
    """What `predict` writes for `path`: a multi-page .tif for every plane of a stack, else .png masks or
    .tif instance labels."""
    return ".tif" if options.instances or (options.plane is None and is_stack(path)) else ".png"


def predict_file(predictor, path: Path, target: Path, options: FileOptions) -> str | None:
    """Read `path`, predict it (every plane of a stack unless `options.plane`) and write `target` atomically;
    None, or one line naming the file and why it failed (a bad image never stops the others)."""
    try:
        n_planes = image_info(path).n_planes if options.plane is None else 1
        planes = [_predict_plane(predictor, path, p, options) for p in range(n_planes)] if n_planes > 1 else None
        if planes is not None:
            write_volume_labels(target, _numbered_on(planes) if options.instances else np.stack(planes))
        elif options.instances:
            write_instances(target, _predict_plane(predictor, path, options.plane or 0, options))
        else:
            write_semantic_mask(target, _predict_plane(predictor, path, options.plane or 0, options))
    except StudioError as exc:
        return str(exc)
    except MemoryError:
        return f"{path}: out of memory while predicting (try a smaller tile or another machine)"
    return None


def _predict_plane(predictor, path: Path, plane: int, options: FileOptions) -> np.ndarray:
    """One plane's mask, or its instance labels with `options.instances`."""
    pixels = read_image(path, plane=plane).pixels
    result = predictor.predict(pixels, tta=options.tta, instances=options.instances, min_size=options.min_size,
                               fill_holes=options.fill_holes, source=str(path), seed_height=options.seed_height,
                               split_touching=options.split_touching, seed_level=options.seed_level,
                               shape_height=options.shape_height)
    return result.instances if options.instances else result.mask


def _numbered_on(planes: list[np.ndarray]) -> np.ndarray:
    """Per-plane instance labels as one volume, each plane's ids after the previous planes' (uint32)."""
    volume, offset = np.zeros((len(planes), *planes[0].shape), np.uint32), 0
    for index, ids in enumerate(planes):
        volume[index] = np.where(ids > 0, ids.astype(np.uint32) + offset, 0)
        offset = max(offset, int(volume[index].max(initial=0)))
    return volume
