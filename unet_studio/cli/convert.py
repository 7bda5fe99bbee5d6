"""`unet-studio convert IMAGE --out NAME.ome.zarr`: an OME-Zarr pyramid from any image it can read."""

from __future__ import annotations

import argparse
import time

from unet_studio.cli.output import ProgressLine, bar, info
from unet_studio.io.ome_zarr_convert import convert_to_ome_zarr
from unet_studio.io.ome_zarr_write import DEFAULT_CHUNK, NGFF_VERSIONS


def add_parser(sub) -> None:
    p = sub.add_parser("convert", help="write an image as an OME-Zarr pyramid (for images bigger than memory)")
    p.add_argument("image", help="image file (TIFF, OME-TIFF, PNG, JPEG, BMP) or OME-Zarr folder; big TIFFs "
                   "are read tile by tile")
    p.add_argument("--out", required=True, help="output folder NAME.ome.zarr (must not exist)")
    p.add_argument("--chunk", type=chunk_side, default=DEFAULT_CHUNK, help=f"chunk side in pixels (default {DEFAULT_CHUNK}); "
                   "levels halve until the longer side is under it")
    p.add_argument("--ngff", choices=NGFF_VERSIONS, default="0.4",
                   help="NGFF version: 0.4 (zarr v2, the most widely read; default) or 0.5 (zarr v3)")
    p.set_defaults(handler=run)


def chunk_side(text: str) -> int:
    """argparse type: a chunk side of at least 16 pixels."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 16:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels >= 16, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    progress = ProgressLine()
    started = time.monotonic()
    out = convert_to_ome_zarr(args.image, args.out, args.chunk, args.ngff,
                              lambda stage, done, total: progress.update(f"convert {stage} {bar(done / total)}"))
    progress.finish()
    info(f"wrote {out} in {time.monotonic() - started:.1f} s")
    return 0
