"""ExportWorker: writes masks, instances, overlays, measurements, ROIs, GeoJSON, COCO and model files for
a set of project images through unet_studio.export, in a worker thread.

The GUI thread resolves every path first (ExportJob); the worker only reads those files and writes new
ones in the output folder (atomically, by the export layer). A failing image or format is one line in
`problems` and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Signal

from unet_studio.core.annotations import annotation_to_mask, read_annotation
from unet_studio.core.errors import StudioError
from unet_studio.core.images import image_info, read_image
from unet_studio.export.api import COCO_FILE, NEEDS_PIXELS, SUFFIXES, LabelledImage, write_one
from unet_studio.export.coco import CocoImage, write_coco
from unet_studio.export.model_export import export_onnx, export_torchscript
from unet_studio.export.objects import semantic_to_instances
from unet_studio.gui.workers import JobWorker, one_line_failure

IMAGE_FORMATS = ("masks", "instances", "overlay", "csv", "roi", "geojson", "coco")
MODEL_FORMATS = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
SOURCES = ("predictions", "annotations")


@dataclass(frozen=True)
class ExportItem:
    """One image: its file and its label file (a prediction mask, or an annotation: 1 = background)."""

    image_id: str
    image_path: Path
    labels_path: Path | None
    labels_are_annotation: bool


@dataclass(frozen=True)
class ExportJob:
    out_dir: Path
    items: tuple[ExportItem, ...]
    formats: tuple[str, ...]
    classes: tuple[Any, ...] = ()
    model_path: Path | None = None
    model_formats: tuple[str, ...] = field(default_factory=tuple)


def load_item(item: ExportItem, with_pixels: bool) -> LabelledImage:
    """The image (pixels only when a format needs them) with its conventional mask and instances."""
    if item.labels_path is None:
        raise StudioError(item.image_path, "nothing to export: no prediction or annotation for this image")
    if with_pixels:
        data = read_image(item.image_path)
        pixels, size, (height, width) = data.pixels, data.pixel_size_um, data.pixels.shape[:2]
    else:
        info = image_info(item.image_path)
        pixels, size, height, width = None, info.pixel_size_um, info.height, info.width
    labels = read_annotation(item.labels_path, (height, width))
    mask = annotation_to_mask(labels) if item.labels_are_annotation else labels
    mask = np.asarray(mask)
    return LabelledImage(item.image_path, height, width, pixels, size, semantic_to_instances(mask), mask)


class ExportWorker(JobWorker):
    """Runs an ExportJob; emits `progress_changed`, then `exported(written, problems)`, then `finished`.
    A failure of the whole job is one more line in `problems`, so the report always comes."""

    progress_changed = Signal(int, int)
    exported = Signal(list, list)
    what = "export"

    def __init__(self, job: ExportJob):
        super().__init__()
        self.job = job

    def work(self) -> None:
        written: list[Path] = []
        problems: list[str] = []
        try:
            self._export(written, problems)
        except Exception as error:  # one line in the report, never a traceback
            problems.append(one_line_failure(error, self.what))
        finally:
            self.exported.emit(written, problems)

    def _export(self, written: list[Path], problems: list[str]) -> None:
        job = self.job
        job.out_dir.mkdir(parents=True, exist_ok=True)
        originals = {item.image_path.resolve() for item in job.items}
        total = len(job.items) + len(job.model_formats)
        coco: list[CocoImage] = []
        with_pixels = any(fmt in NEEDS_PIXELS for fmt in job.formats)
        for done, item in enumerate(job.items, start=1):
            if self.stopping:
                problems.append("export cancelled")
                return
            try:
                labelled = load_item(item, with_pixels)
            except StudioError as error:
                problems.append(str(error))
                self.progress_changed.emit(done, total)
                continue
            for fmt in job.formats:
                if fmt == "coco":
                    coco.append(CocoImage(item.image_path.name, labelled.instances, labelled.mask,
                                          labelled.pixel_size_um))
                    continue
                target = job.out_dir / f"{item.image_path.stem}{SUFFIXES[fmt]}"
                try:
                    if target.resolve() in originals:
                        raise StudioError(target, "would overwrite an original image; choose another folder")
                    written.append(write_one(labelled, fmt, target, list(job.classes)))
                except StudioError as error:
                    problems.append(str(error))
            self.progress_changed.emit(done, total)
        if coco:
            written.append(write_coco(job.out_dir / COCO_FILE, coco, list(job.classes)))
        self._export_model(written, problems, len(job.items), total)

    def _export_model(self, written: list[Path], problems: list[str], done: int, total: int) -> None:
        job = self.job
        for offset, fmt in enumerate(job.model_formats, start=1):
            export = export_onnx if fmt == "onnx" else export_torchscript
            target = job.out_dir / f"{job.model_path.stem}{MODEL_FORMATS[fmt]}"
            try:
                written.append(export(job.model_path, target))
            except StudioError as error:
                problems.append(str(error))
            self.progress_changed.emit(done + offset, total)
