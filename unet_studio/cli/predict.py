"""`unet-studio predict --model MODEL.pt --images DIR --out DIR`: masks (or instances) for a folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from unet_studio.cli.output import ProgressLine, bar, info, problem
from unet_studio.cli.predict_volumes import add_volume_predict_options, is_volume_model, run_volumes
from unet_studio.cli.paths import describe_collision, output_names, refuse_writing_inputs, unusable_links
from unet_studio.cli.predict_dask import add_dask_arguments, run_dask
from unet_studio.cli.predict_stream import STREAMED_SUFFIX, is_streamed, predict_streamed
from unet_studio.core.atomic import ensure_writable_folder
from unet_studio.core.errors import StudioError
from unet_studio.core.images import list_images
from unet_studio.core.lazy_images import list_zarr_images
from unet_studio.export.predicted_files import FileOptions, predict_file, target_suffix
from unet_studio.inference.postprocess import SEED_HEIGHT
from unet_studio.inference.model_files import load_predictor


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict masks for every image in a folder")
    p.add_argument("--model", required=True, help="checkpoint (.pt) from `unet-studio train`, or a bioimage.io "
                   "package (.zip) with TorchScript or ONNX weights (run with its own pre- and post-processing)")
    p.add_argument("--images", required=True, help="folder of images; *.ome.zarr folders and TIFFs over 2**30 "
                   "pixels in it are predicted chunk by chunk into <stem>.ome.zarr label images")
    p.add_argument("--out", required=True, help="output folder (not the images' folder): <stem>.png masks "
                   "(0 background, 1..K classes); images sharing a stem (a.png, a.tif) keep their suffix: "
                   "a.png.png, a.tif.png")
    p.add_argument("--instances", action="store_true", help="write <stem>.tif uint16 instance labels instead")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average the four flips (four times slower); default: what training chose on "
                        "validation images (off for models without that choice)")
    p.add_argument("--threshold", type=probability, default=None, metavar="P",
                   help="two-class models: object where p(object) >= P (default: the model's, chosen on "
                        "validation images)")
    p.add_argument("--min-size", type=int, default=None,
                   help="remove objects smaller than this many pixels (default 0, or with --instances the "
                        "model's choice, else 15)")
    p.add_argument("--fill-holes", action="store_true", help="fill holes inside objects")
    p.add_argument("--seed-height", type=positive_float, default=SEED_HEIGHT, metavar="PX",
                   help="with --instances: split touching objects where each part's radius exceeds the neck's "
                        f"half-width by at least this many pixels (default {SEED_HEIGHT:g}; larger splits less)")
    p.add_argument("--seed-level", type=probability, default=None, metavar="P",
                   help="with --instances, touching-border models: seeds are object pixels whose interior "
                        "probability is at least P (default: the model's choice; larger splits more)")
    p.add_argument("--shape-height", type=non_negative_float, default=None, metavar="PX",
                   help="with --instances, touching-border models: then split each object where its outline has a "
                        "neck this many pixels narrower than its parts (default: the model's choice; 0: no such split)")
    p.add_argument("--no-split", action="store_true", help="with --instances: connected components, no splitting")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--plane", type=int, default=None, help="predict only this plane of multi-page stacks, into "
                   "<stem>.png (default: every plane with the 2-D model, into one multi-page <stem>.tif; 3-D "
                   "models predict whole volumes: a multi-page <stem>.tif each)")
    add_volume_predict_options(p)
    add_dask_arguments(p)
    p.set_defaults(handler=run)


def positive_float(text: str) -> float:
    """argparse type: a number above zero."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number of at least zero."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text!r}")
    return value


def probability(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    if is_volume_model(args.model):
        return run_volumes(args)
    if args.measurements:
        raise StudioError(args.model, "--measurements is for 3-D models; for 2-D masks use `unet-studio export`")
    predictor = load_predictor(args.model, device=args.device)
    if args.threshold is not None:
        predictor.threshold = args.threshold
    images = sorted(list_images(args.images) + list_zarr_images(args.images), key=lambda p: (p.name.lower(), p.name))
    link_problems = unusable_links(args.images)
    if not images:
        raise StudioError(args.images, "no images found (PNG, JPEG, BMP, TIFF or OME-Zarr)")
    suffix, options = ".tif" if args.instances else ".png", FileOptions.from_args(args)
    out = Path(args.out)
    names, collisions = output_names(images)
    streamed = {path for path in images if is_streamed(path)}
    targets = {path: out / f"{names[path]}{STREAMED_SUFFIX if path in streamed else target_suffix(path, options)}"
               for path in images}
    refuse_writing_inputs(out, images, targets.values())
    ensure_writable_folder(out)
    for group in collisions:
        info(f"note: {describe_collision(group, suffix)}")
    for line in link_problems:
        problem(line)
    failures = len(link_problems)
    started = time.monotonic()
    here = images
    if args.dask is not None:  # one task per ordinary image; big ones are streamed here, chunk by chunk
        flat = {path: targets[path] for path in images if path not in streamed}
        failures += run_dask(args, flat) if flat else 0
        here = [path for path in images if path in streamed]
    if here:
        failures += predict_here(predictor, args, here, targets, streamed, options)
    done = len(images) + len(link_problems) - failures
    info(f"wrote {done} {'instance label' if args.instances else 'mask'} file(s) to {out} "
         f"in {time.monotonic() - started:.1f} s" + (f"; {failures} failed" if failures else ""))
    return 1 if failures else 0


def predict_here(predictor, args, images: list[Path], targets: dict[Path, Path], streamed: set[Path],
                 options: FileOptions) -> int:
    """Predict `images` one after another in this process (those in `streamed` chunk by chunk); returns how
    many failed."""
    progress, failures = ProgressLine(), 0
    for index, path in enumerate(images):
        progress.update(f"predict {bar(index / len(images))} {index}/{len(images)}  {path.name}")
        if path not in streamed:
            failed = predict_file(predictor, path, targets[path], options)
        else:
            failed = _predict_streamed(predictor, path, targets[path], args, progress, index, len(images))
        if failed is not None:
            failures += 1
            progress.finish()
            problem(failed)
    progress.finish(f"predict {bar(1.0)} {len(images)}/{len(images)}")
    return failures


def _predict_streamed(predictor, path: Path, target: Path, args, progress: ProgressLine, index: int,
                      count: int) -> str | None:
    """A big image chunk by chunk into `target` (an OME-Zarr label image); None, or the one-line problem."""
    def report(done: int, total: int) -> None:
        progress.update(f"predict {bar((index + done / total) / count)} {index}/{count}  {path.name}")

    try:
        predict_streamed(predictor, path, target, args, report)
    except StudioError as exc:
        return str(exc)
    except MemoryError:
        return f"{path}: out of memory while predicting (try a smaller tile or another machine)"
    return None
