"""`unet-studio export` (masks, measurements, ROIs, GeoJSON, COCO, overlays) and `export-model`."""

from __future__ import annotations

import argparse

from unet_studio.cli.output import ProgressLine, bar, info, problem
from unet_studio.export.api import FORMATS, export_folder
from unet_studio.export.model_export import export_onnx, export_torchscript
from unet_studio.inference.predictor import MIN_INSTANCE_SIZE


def add_parsers(sub) -> None:
    p = sub.add_parser("export", help="export predicted masks or instances to the formats other tools read")
    p.add_argument("--images", required=True, help="folder of the original images")
    p.add_argument("--labels", required=True,
                   help="folder of masks (PNG: 0 background, 1..K) or instance TIFFs with the images' stems")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", required=True, choices=list(FORMATS),
                   help="csv: measurements; roi: ImageJ/Fiji ROI zip; geojson: QuPath; coco: one COCO JSON; "
                        "overlay: contours on the image; instances: uint16 label TIFF; masks: PNG masks")
    p.add_argument("--classes", nargs="*", help="class names for 1..K (default: class 1, class 2...)")
    p.add_argument("--min-size", type=int, default=MIN_INSTANCE_SIZE, metavar="N",
                   help=f"leave out mask pieces under N pixels (default {MIN_INSTANCE_SIZE}; 0 keeps all)")
    p.set_defaults(handler=run_export)

    m = sub.add_parser("export-model", help="export a trained model to ONNX or TorchScript, with a model card")
    m.add_argument("--model", required=True, help="checkpoint (.pt) from `unet-studio train`")
    m.add_argument("--format", required=True, choices=["onnx", "torchscript"])
    m.add_argument("--out", required=True, help="file to write (.onnx or .pt)")
    m.set_defaults(handler=run_export_model)


def run_export(args: argparse.Namespace) -> int:
    progress = ProgressLine()

    def report(done: int, total: int) -> None:
        progress.update(f"export {bar(done / max(total, 1))} {done}/{total}")

    written, problems = export_folder(args.images, args.labels, args.out, args.format,
                                      classes=args.classes or None, progress=report,
                                      min_size=args.min_size)
    progress.finish()
    for line in problems:
        problem(line)
    info(f"wrote {len(written)} file(s) to {args.out}" + (f"; {len(problems)} problem(s)" if problems else ""))
    return 1 if problems else 0


def run_export_model(args: argparse.Namespace) -> int:
    exporter = export_onnx if args.format == "onnx" else export_torchscript
    result = exporter(args.model, args.out)
    info(f"wrote {result} (checked against the original model) and its model card")
    return 0
