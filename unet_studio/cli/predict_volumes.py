"""`unet-studio predict` with a 3-D model: a multi-page TIFF mask (or instance labels) per volume, and with
--measurements one CSV of every object's volume (predict.py's hook)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from unet_studio.cli.output import ProgressLine, bar, info, problem
from unet_studio.cli.paths import output_names, refuse_writing_inputs
from unet_studio.core.atomic import ensure_writable_folder
from unet_studio.core.errors import StudioError
from unet_studio.data.volume import list_volumes, read_volume
from unet_studio.export.volume import measure_volume, write_volume_labels, write_volume_measurements
from unet_studio.inference.instances3d import volume_instances
from unet_studio.inference.volume_predictor import VolumePredictor
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.config import VOLUME_ARCHS
from unet_studio.models.package_checkpoint import is_bioimageio_package

MEASUREMENTS_FILE = "measurements.csv"


def add_volume_predict_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--measurements", action="store_true",
                        help=f"3-D models: also write {MEASUREMENTS_FILE} in --out, one row per object (the "
                             "instances, or the mask's connected pieces) with its volume in voxels and um^3")


def is_volume_model(path: str | Path) -> bool:
    """Whether `path` is a UNet Studio checkpoint of a 3-D network (anything else: False)."""
    if is_bioimageio_package(path):
        return False
    try:
        return load_checkpoint(path).model_config.arch in VOLUME_ARCHS
    except StudioError:  # reported by the 2-D path, which loads it again
        return False


def run_volumes(args: argparse.Namespace) -> int:
    """Predict every TIFF volume of --images with the 3-D model; 1 when any volume failed."""
    predictor = VolumePredictor.from_checkpoint(args.model, device=args.device)
    if args.threshold is not None:
        predictor.threshold = args.threshold
    if args.tta:
        info("note: 3-D models predict without test-time flips (--tta ignored)")
    volumes = list_volumes(args.images)
    if not volumes:
        raise StudioError(args.images, "no TIFF volumes found (.tif, .tiff)")
    out = Path(args.out)
    names_of, _ = output_names(volumes)  # a.tif and a.tiff: a.tif.tif, a.tiff.tif
    targets = {path: out / f"{names_of[path]}.tif" for path in volumes}
    extra = [out / MEASUREMENTS_FILE] if args.measurements else []
    refuse_writing_inputs(out, volumes, list(targets.values()) + extra)
    ensure_writable_folder(out)
    names = [c["name"] for c in predictor.classes]
    progress, rows, failures, started = ProgressLine(), [], 0, time.monotonic()
    for index, path in enumerate(volumes):
        progress.update(f"predict {bar(index / len(volumes))} {index}/{len(volumes)}  {path.name}")
        try:
            volume = read_volume(path)
            result = predictor.predict(volume.pixels, instances=args.instances, min_size=args.min_size or 0,
                                       fill_holes=args.fill_holes, voxel_size_um=volume.voxel_size_um,
                                       seed_height=args.seed_height, split_touching=not args.no_split,
                                       source=str(path))
            written = result.instances if args.instances else result.mask
            write_volume_labels(targets[path], written, volume.voxel_size_um)
            if args.measurements:
                objects = result.instances if args.instances else volume_instances(result.mask, split_touching=False)
                rows += measure_volume(objects, volume.pixels, result.mask, names, volume.voxel_size_um, path.name)
        except StudioError as exc:
            failures += 1
            progress.finish()
            problem(str(exc))
        except MemoryError:
            failures += 1
            progress.finish()
            problem(f"{path}: out of memory while predicting the volume")
    progress.finish(f"predict {bar(1.0)} {len(volumes)}/{len(volumes)}")
    if args.measurements:
        write_volume_measurements(out / MEASUREMENTS_FILE, rows)
    what = "instance label volume" if args.instances else "mask volume"
    info(f"wrote {len(volumes) - failures} {what}(s) to {out} in {time.monotonic() - started:.1f} s"
         + (f"; {len(rows)} object(s) in {MEASUREMENTS_FILE}" if args.measurements else "")
         + (f"; {failures} failed" if failures else ""))
    return 1 if failures else 0
