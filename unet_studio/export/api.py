"""export_folder(): what `unet-studio export` and the GUI export dialog call for a folder of images."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
from unet_studio.io.label_files import find_label_file, read_label_image

# Output name per image: <image stem> + suffix. COCO writes one file for the whole folder.
SUFFIXES = {"csv": ".csv", "roi": "_rois.zip", "geojson": ".geojson", "overlay": "_overlay.png",
            "instances": "_instances.tif", "masks": "_mask.png"}
FORMATS = (*SUFFIXES, "coco")
COCO_FILE = "coco_annotations.json"
LABEL_KINDS = ("auto", "semantic", "instances")
NEEDS_PIXELS = ("csv", "overlay")


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


def _is_semantic(label_file: Path, labels_kind: str) -> bool:
    """"auto": PNG files are semantic masks, TIFF files instance labels."""
    if labels_kind == "auto":
        return label_file.suffix.lower() == ".png"
    return labels_kind == "semantic"


def load_labelled(image: Path, labels_dir: Path, labels_kind: str, with_pixels: bool) -> LabelledImage:
    """Read an image (or only its header) and its partner label file; any problem raises StudioError."""
    label_file = find_label_file(labels_dir, image)
    if label_file is None:
        raise ExportError(image, f"no label file {file_stem(image)}.png/.tif in {labels_dir}")
    if with_pixels:
        data = read_image(image)
        pixels, pixel_size, (height, width) = data.pixels, data.pixel_size_um, data.pixels.shape[:2]
    else:
        info = image_info(image)
        pixels, pixel_size, height, width = None, info.pixel_size_um, info.height, info.width
    labels = read_label_image(label_file)
    if labels.shape != (height, width):
        raise ExportError(label_file, f"labels are {labels.shape[0]}x{labels.shape[1]} but the image is "
                                      f"{height}x{width}")
    if _is_semantic(label_file, labels_kind):
        return LabelledImage(image, height, width, pixels, pixel_size, semantic_to_instances(labels), labels)
    return LabelledImage(image, height, width, pixels, pixel_size, labels, None)


def write_one(item: LabelledImage, fmt: str, target: Path, classes: Sequence[Any] | None) -> Path:
    """Write one image's export in `fmt` to `target`."""
    if fmt == "csv":
        rows = measure_or_raise(target, item.instances, item.pixels, item.mask, classes, item.pixel_size_um,
                                item.image.name)
        return write_measurements_csv(target, rows)
    if fmt == "roi":
        return write_imagej_rois(target, item.instances, item.mask, classes)
    if fmt == "geojson":
        return write_geojson(target, item.instances, item.mask, classes, pixel_size_um=item.pixel_size_um)
    if fmt == "overlay":
        return write_overlay(target, item.pixels, item.instances, item.mask, classes)
    if fmt == "instances":
        return write_instances(target, item.instances)
    mask = item.mask if item.mask is not None else (item.instances > 0).astype(np.uint8)
    return write_semantic_mask(target, mask)


def export_folder(images_dir: str | Path, labels_dir: str | Path, out_dir: str | Path, fmt: str,
                  classes: Sequence[Any] | None = None, labels_kind: str = "auto",
                  progress: Callable[[int, int], None] | None = None) -> tuple[list[Path], list[str]]:
    """Export every image of `images_dir` that has a label file of the same stem in `labels_dir`.

    Returns (written files, problems): each problem is one line naming the file (missing partner,
    unreadable image, size mismatch); the other images still export. `progress(done, total)` is called
    after each image. Folder-level mistakes (unknown format, missing folder) raise StudioError.
    """
    images_dir, labels_dir, out_dir = Path(images_dir), Path(labels_dir), Path(out_dir)
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if labels_kind not in LABEL_KINDS:
        raise ExportError(f"unknown labels kind {labels_kind!r}; choose one of {', '.join(LABEL_KINDS)}")
    if not labels_dir.is_dir():
        raise ExportError(labels_dir, "labels folder not found")
    images = list_images(images_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    originals = {image.resolve() for image in images}
    written: list[Path] = []
    problems: list[str] = []
    coco_entries: list[CocoImage] = []
    for done, image in enumerate(images, start=1):
        target = out_dir / f"{file_stem(image)}{SUFFIXES.get(fmt, '')}"
        try:
            if target.resolve() in originals:
                raise ExportError(target, "would overwrite an original image; choose another output folder")
            item = load_labelled(image, labels_dir, labels_kind, with_pixels=fmt in NEEDS_PIXELS)
            if fmt == "coco":
                coco_entries.append(CocoImage(image.name, item.instances, item.mask, item.pixel_size_um))
            else:
                written.append(write_one(item, fmt, target, classes))
        except StudioError as error:
            problems.append(str(error))
        if progress is not None:
            progress(done, len(images))
    if fmt == "coco" and coco_entries:
        written.append(write_coco(out_dir / COCO_FILE, coco_entries, classes))
    return written, problems
