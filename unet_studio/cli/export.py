"""`unet-studio export` (masks, measurements, ROIs, GeoJSON, COCO, overlays) and `export-model`."""

from __future__ import annotations

import argparse
from pathlib import Path

from unet_studio.cli.output import ProgressLine, bar, info, problem
from unet_studio.cli.paths import output_names, refuse_writing_inputs, unusable_links
from unet_studio.core.atomic import ensure_writable_folder
from unet_studio.core.errors import StudioError
from unet_studio.core.images import file_stem, list_images
from unet_studio.export.api import COCO_FILE, FORMATS, SUFFIXES, export_folder
from unet_studio.inference.predictor import MIN_INSTANCE_SIZE


def add_parsers(sub) -> None:
    p = sub.add_parser("export", help="export predicted masks or instances to the formats other tools read")
    p.add_argument("--images", required=True, help="folder of the original images")
    p.add_argument("--labels", required=True,
                   help="folder of masks (PNG: 0 background, 1..K) or instance TIFFs with the images' stems")
    p.add_argument("--out", required=True, help="output folder (not the images' folder)")
    p.add_argument("--format", required=True, choices=list(FORMATS),
                   help="csv: measurements; roi: ImageJ/Fiji ROI zip; geojson: QuPath; coco: one COCO JSON; "
                        "overlay: contours on the image; instances: uint16 label TIFF; masks: PNG masks")
    p.add_argument("--classes", nargs="*", help="class names for 1..K (default: class 1, class 2...)")
    p.add_argument("--min-size", type=int, default=MIN_INSTANCE_SIZE, metavar="N",
                   help=f"leave out mask pieces under N pixels (default {MIN_INSTANCE_SIZE}; 0 keeps all)")
    p.set_defaults(handler=run_export)

    m = sub.add_parser("export-model", help="export a trained model to ONNX, TorchScript (each with a model card) "
                                            "or a bioimage.io package (ilastik, deepImageJ, QuPath, bioimageio.core)")
    m.add_argument("--model", required=True, help="checkpoint (.pt) from `unet-studio train`")
    m.add_argument("--format", required=True, choices=["onnx", "torchscript", "bioimageio"])
    m.add_argument("--out", required=True, help="file to write (.onnx, .pt, or .zip for bioimageio)")
    package = m.add_argument_group("bioimageio package (--format bioimageio)")
    package.add_argument("--name", help="model name (default: UNet Studio <architecture> <checkpoint name>)")
    package.add_argument("--description", help="one-sentence description (default: what it segments, on how "
                                                "many images)")
    package.add_argument("--author", action="append", metavar="NAME",
                         help="an author (repeat for several; default: your login name)")
    package.add_argument("--license", default="CC-BY-4.0", metavar="SPDX",
                         help="SPDX licence id of the weights (default CC-BY-4.0)")
    package.add_argument("--test-image", metavar="IMAGE",
                         help="image for the test tensors (default: a training image the checkpoint names, found "
                              "in its project; else a synthetic one, said so in the README)")
    m.set_defaults(handler=run_export_model)


def check_export_paths(images_dir: str, out_dir: str, fmt: str) -> None:
    """Refuse, before writing anything, an output folder among the originals and images whose stems
    collide (a.png, a.tif): they would share one label file and one output."""
    images = list_images(images_dir)
    _, collisions = output_names(images)
    if collisions:
        shown = "; ".join(", ".join(p.name for p in group) for group in collisions[:3])
        raise StudioError(images_dir, f"images share a name and so would share a label file and an output "
                                      f"({shown}); rename them apart")
    out = Path(out_dir)
    targets = [out / COCO_FILE] if fmt == "coco" else [out / f"{file_stem(p)}{SUFFIXES[fmt]}" for p in images]
    refuse_writing_inputs(out, images, targets)
    ensure_writable_folder(out)


def run_export(args: argparse.Namespace) -> int:
    check_export_paths(args.images, args.out, args.format)
    link_problems = unusable_links(args.images)
    progress = ProgressLine()

    def report(done: int, total: int) -> None:  # the last call always shows, so the bar ends at 100%
        progress.update(f"export {bar(done / max(total, 1))} {done}/{total}", force=done == total)

    written, problems = export_folder(args.images, args.labels, args.out, args.format,
                                      classes=args.classes or None, progress=report,
                                      min_size=args.min_size)
    progress.finish()
    problems = link_problems + problems
    for line in problems:
        problem(line)
    info(f"wrote {len(written)} file(s) to {args.out}" + (f"; {len(problems)} problem(s)" if problems else ""))
    return 1 if problems else 0


def run_export_model(args: argparse.Namespace) -> int:
    if args.format == "bioimageio":
        return _run_export_package(args)
    from unet_studio.export.model_export import export_onnx, export_torchscript  # onnx takes seconds to import

    exporter = export_onnx if args.format == "onnx" else export_torchscript
    result = exporter(args.model, args.out)
    info(f"wrote {result} (checked against the original model) and its model card")
    return 0


def _run_export_package(args: argparse.Namespace) -> int:
    from unet_studio.export.bioimageio import PackageOptions, export_bioimageio

    options = PackageOptions(name=args.name, description=args.description, authors=tuple(args.author or ()),
                             license=args.license, test_image=args.test_image)
    result = export_bioimageio(args.model, args.out, options)
    source = f"a crop of {result.test_image}" if result.real_test_image else "a synthetic image"
    info(f"wrote {result.path}: bioimage.io package (TorchScript, ONNX and state dict weights, each checked "
         f"against the original model; test tensors from {source})")
    return 0
