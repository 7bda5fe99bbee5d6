"""export_sources(): the one export loop, called by `unet-studio export` (through export_folder) and by the
GUI export dialog's worker, so both write the same objects from the same labels."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unet_studio.core.annotations import annotation_to_mask
from unet_studio.core.errors import StudioError
from unet_studio.core.images import file_stem, image_info, list_images, read_image
from unet_studio.export.coco import CocoImage, write_coco
from unet_studio.export.errors import ExportError
from unet_studio.export.geojson import write_geojson
from unet_studio.export.masks import write_instances, write_semantic_mask
from unet_studio.export.measurements import measure_or_raise, write_measurements_csv
from unet_studio.export.objects import semantic_to_instances
from unet_studio.export.overlay import write_overlay
from unet_studio.export.rois import write_imagej_rois
from unet_studio.inference.postprocess import clean_mask
from unet_studio.inference.predictor import MIN_INSTANCE_SIZE
from unet_studio.io.label_files import find_label_file, read_label_image

# Output name per image: <image stem> + suffix. COCO writes one file for the whole folder.
SUFFIXES = {"csv": ".csv", "roi": "_rois.zip", "geojson": ".geojson", "overlay": "_overlay.png",
            "instances": "_instances.tif", "masks": "_mask.png"}
FORMATS = (*SUFFIXES, "coco")
COCO_FILE = "coco_annotations.json"
LABEL_KINDS = ("auto", "semantic", "instances")
NEEDS_PIXELS = ("csv", "overlay", "geojson")


@dataclass(frozen=True)
class LabelledImage:
    """One image with its labels: `mask` is the conventional class mask when the labels were semantic."""

    image: Path
    height: int
    width: int
    pixels: np.ndarray | None
    pixel_size_um: float | None
    instances: np.ndarray
    mask: np.ndarray | None


@dataclass(frozen=True)
class ExportSource:
    """One image and its label file. `kind`: "semantic" (mask: 0 background, 1..K), "instances" (label image,
    taken as it is) or "annotation" (the project's: 0 unlabelled, 1 background, 2..). Without a label file,
    `missing` is the reason reported for the image. A plane of a stack: `plane` of the image, read from page
    `label_page` of a multi-page label file (None: the file has one page), written as <stem>.plane-<k>.*"""

    image: Path
    labels: Path | None
    kind: str = "semantic"
    missing: str = "no label file"
    plane: int | None = None
    label_page: int | None = None

    @property
    def stem(self) -> str:
        """The name of what is written for it: the image's stem, with the plane of a stack's plane."""
        return file_stem(self.image) + ("" if self.plane is None else f".plane-{self.plane}")


def _kind(label_file: Path, labels_kind: str) -> str:
    """"auto": PNG files are semantic masks, TIFF files instance labels."""
    if labels_kind == "auto":
        return "semantic" if label_file.suffix.lower() == ".png" else "instances"
    return labels_kind


def load_source(source: ExportSource, with_pixels: bool, min_size: int = MIN_INSTANCE_SIZE) -> LabelledImage:
    """Read an image (or only its header) and its labels; any problem raises StudioError.

    Masks (semantic and annotations) lose their pieces under `min_size` pixels before they are split into
    objects, as `predict --instances` drops them: specks are never cells, and each would count as an object.
    """
    if source.labels is None:
        raise ExportError(source.image, source.missing)
    if with_pixels:
        data = read_image(source.image, plane=source.plane or 0)
        pixels, pixel_size, (height, width) = data.pixels, data.pixel_size_um, data.pixels.shape[:2]
    else:
        info = image_info(source.image)
        pixels, pixel_size, height, width = None, info.pixel_size_um, info.height, info.width
    labels = read_label_image(source.labels, source.label_page)
    if labels.shape != (height, width):
        raise ExportError(source.labels, f"labels are {labels.shape[0]}x{labels.shape[1]} but the image is "
                                         f"{height}x{width}")
    if source.kind == "instances":
        return LabelledImage(source.image, height, width, pixels, pixel_size, labels, None)
    mask = annotation_to_mask(labels) if source.kind == "annotation" else labels
    if min_size > 0:
        mask = clean_mask(mask, min_size)
    return LabelledImage(source.image, height, width, pixels, pixel_size, semantic_to_instances(mask), mask)


def write_one(item: LabelledImage, fmt: str, target: Path, classes: Sequence[Any] | None) -> Path:
    """Write one image's export in `fmt` to `target`."""
    if fmt == "csv":
        rows = measure_or_raise(target, item.instances, item.pixels, item.mask, classes, item.pixel_size_um,
                                item.image.name)
        return write_measurements_csv(target, rows)
    if fmt == "roi":
        return write_imagej_rois(target, item.instances, item.mask, classes)
    if fmt == "geojson":
        return write_geojson(target, item.instances, item.mask, classes, pixel_size_um=item.pixel_size_um,
                             intensity=item.pixels)
    if fmt == "overlay":
        return write_overlay(target, item.pixels, item.instances, item.mask, classes)
    if fmt == "instances":
        return write_instances(target, item.instances)
    mask = item.mask if item.mask is not None else (item.instances > 0).astype(np.uint8)
    return write_semantic_mask(target, mask)


def export_sources(sources: Sequence[ExportSource], out_dir: str | Path, formats: Sequence[str],
                   classes: Sequence[Any] | None = None, min_size: int = MIN_INSTANCE_SIZE,
                   progress: Callable[[int, int], None] | None = None,
                   stop: threading.Event | None = None) -> tuple[list[Path], list[str]]:
    """Write every format for every source into `out_dir`, each image read once.

    Returns (written files, problems): a problem is one line naming the file (no labels, unreadable image,
    size mismatch, a target that is one of the images); the others still export. `progress(done, total)`
    is called after each image; a set `stop` ends the loop with the problem "export cancelled".
    """
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown:
        raise ExportError(f"unknown export format {unknown[0]!r}; choose one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    originals = {source.image.resolve() for source in sources}
    with_pixels = any(fmt in NEEDS_PIXELS for fmt in formats)
    written: list[Path] = []
    problems: list[str] = []
    coco: list[CocoImage] = []
    for done, source in enumerate(sources, start=1):
        if stop is not None and stop.is_set():
            problems.append("export cancelled")
            break
        targets = {fmt: out_dir / f"{source.stem}{SUFFIXES[fmt]}" for fmt in formats if fmt != "coco"}
        clashes = [fmt for fmt, target in targets.items() if target.resolve() in originals]
        problems += [f"{targets[fmt]}: would overwrite an original image; choose another output folder"
                     for fmt in clashes]
        if len(clashes) < len(formats):
            try:
                item = load_source(source, with_pixels, min_size)
                if "coco" in formats:
                    name = source.image.name if source.plane is None else f"{source.image.name} [plane {source.plane}]"
                    coco.append(CocoImage(name, item.instances, item.mask, item.pixel_size_um))
                for fmt, target in targets.items():
                    path = None if fmt in clashes else _write_or_report(item, fmt, target, classes, problems)
                    if path is not None:
                        written.append(path)
            except StudioError as error:
                problems.append(str(error))
        if progress is not None:
            progress(done, len(sources))
    if coco:
        written.append(write_coco(out_dir / COCO_FILE, coco, classes))
    return written, problems


def _write_or_report(item: LabelledImage, fmt: str, target: Path, classes, problems: list[str]) -> Path | None:
    """One format for one image; a StudioError becomes a problem line so the other formats still run."""
    try:
        return write_one(item, fmt, target, classes)
    except StudioError as error:
        problems.append(str(error))
        return None


def export_folder(images_dir: str | Path, labels_dir: str | Path, out_dir: str | Path, fmt: str,
                  classes: Sequence[Any] | None = None, labels_kind: str = "auto",
                  progress: Callable[[int, int], None] | None = None,
                  min_size: int = MIN_INSTANCE_SIZE) -> tuple[list[Path], list[str]]:
    """Export every image of `images_dir` that has a label file of the same stem in `labels_dir`.

    Returns (written files, problems) as export_sources does; images without a partner label file are
    problems too. Folder-level mistakes (unknown format, missing folder) raise StudioError.
    """
    images_dir, labels_dir = Path(images_dir), Path(labels_dir)
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if labels_kind not in LABEL_KINDS:
        raise ExportError(f"unknown labels kind {labels_kind!r}; choose one of {', '.join(LABEL_KINDS)}")
    if not labels_dir.is_dir():
        raise ExportError(labels_dir, "labels folder not found")
    sources = []
    for image in list_images(images_dir):
        label_file = find_label_file(labels_dir, image)
        kind = _kind(label_file, labels_kind) if label_file is not None else "semantic"
        sources.append(ExportSource(image, label_file, kind, f"no label file {file_stem(image)}.png/.tif in {labels_dir}"))
    return export_sources(sources, out_dir, [fmt], classes, min_size, progress)
