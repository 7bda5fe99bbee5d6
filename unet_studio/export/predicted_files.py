"""One image file in, one mask (or instance label) file out: the per-image work of `unet-studio predict`.

The local loop and the Dask workers (inference/dask_predict.py) both call `predict_file`, so the two
paths write the same bytes.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from unet_studio.core.errors import StudioError
from unet_studio.core.images import read_image
from unet_studio.export.masks import write_instances, write_semantic_mask
from unet_studio.inference.postprocess import SEED_HEIGHT


@dataclass(frozen=True)
class FileOptions:
    """How each image is predicted and written (plain values: they travel to Dask workers)."""

    plane: int = 0
    instances: bool = False
    tta: bool | None = None
    min_size: int | None = None
    fill_holes: bool = False
    seed_height: float = SEED_HEIGHT
    split_touching: bool = True
    seed_level: float | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FileOptions:
        """The options of a parsed `predict` command line."""
        return cls(plane=args.plane, instances=args.instances, tta=args.tta, min_size=args.min_size,
                   fill_holes=args.fill_holes, seed_height=args.seed_height, split_touching=not args.no_split,
                   seed_level=args.seed_level)


def predict_file(predictor, path: Path, target: Path, options: FileOptions) -> str | None:
    """Read `path`, predict it and write `target` atomically; None, or one line naming the file and why it
    failed (a bad image never stops the others)."""
    try:
        pixels = read_image(path, plane=options.plane).pixels
        result = predictor.predict(pixels, tta=options.tta, instances=options.instances, min_size=options.min_size,
                                   fill_holes=options.fill_holes, source=str(path), seed_height=options.seed_height,
                                   split_touching=options.split_touching, seed_level=options.seed_level)
        if options.instances:
            write_instances(target, result.instances)
        else:
            write_semantic_mask(target, result.mask)
    except StudioError as exc:
        return str(exc)
    except MemoryError:
        return f"{path}: out of memory while predicting (try a smaller tile or another machine)"
    return None
