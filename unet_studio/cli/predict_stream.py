"""`predict` on images bigger than memory: OME-Zarr folders and TIFFs over MAX_PIXELS in --images are
predicted chunk by chunk (inference.stream) into `<stem>.ome.zarr` label images beside the other outputs."""

from __future__ import annotations

import argparse
from pathlib import Path

from unet_studio.core.errors import StudioError
from unet_studio.core.image_headers import MAX_PIXELS
from unet_studio.core.lazy_images import lazy_image_size
from unet_studio.inference.predictor import Predictor
from unet_studio.inference.stream import stream_predict
from unet_studio.io.ome_zarr import open_multiscale

STREAMED_SUFFIX = ".ome.zarr"


def is_streamed(path: Path) -> bool:
    """An OME-Zarr folder, or a TIFF too big to read whole."""
    if path.is_dir():
        return True
    if path.suffix.lower() not in (".tif", ".tiff"):
        return False
    size = lazy_image_size(path)
    return size is not None and size[0] * size[1] > MAX_PIXELS


def predict_streamed(predictor: Predictor, path: Path, target: Path, args: argparse.Namespace, report) -> None:
    """Stream one image's prediction into ``target``; ``report(done, total)`` follows the tiles."""
    if args.fill_holes:
        raise StudioError(path, "--fill-holes needs whole objects: not available for images predicted chunk by chunk")
    with open_multiscale(path) as image:
        stream_predict(predictor, image, target, instances=args.instances, min_size=args.min_size, tta=args.tta,
                       seed_height=args.seed_height, split_touching=not args.no_split, progress=report)
