"""What a training run reads from a project, fixed in a frozen snapshot on the thread that owns the project.

The GUI takes the snapshot on its own thread when Train is pressed; the training thread then reads only
the files it names (image files and annotation files, which are replaced atomically), never the live
`Project` that the GUI thread keeps saving into.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_studio.core.annotations import read_annotation
from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.core.images import read_image
from unet_studio.core.instance_labels import read_instances
from unet_studio.core.normalize import normalize_for_network
from unet_studio.core.project import Project
from unet_studio.data.sampling import TrainItem
from unet_studio.training.big_source import left_out_of_validation, open_big_item

SPLITS = ("train", "val")


@dataclass(frozen=True)
class LabelledFile:
    """One image with saved labels: its file, its annotation file (1 = background), its split and its instance
    layer's file (None without one). `chunked`: a big image, whose annotation_path is its chunked label
    folder (core.chunked_labels) and which training reads region by region (training/big_source.py)."""

    image_path: Path
    annotation_path: Path
    split: str
    instances_path: Path | None = None
    chunked: bool = False


@dataclass(frozen=True)
class ProjectSnapshot:
    """The project's folder and manifest, its labelled train/val images and its classes (plain dicts).
    `unlabelled`: the train/val images with no annotation file yet, each naming the .png a first save
    writes; live training watches for them (iter_train_snapshot ignores them)."""

    folder: Path
    manifest_path: Path
    images: tuple[LabelledFile, ...]
    classes: tuple[dict, ...]
    unlabelled: tuple[LabelledFile, ...] = ()

    @property
    def validation_left_out(self) -> str | None:
        """The Log line naming the labelled big images marked 'val', which no run validates on, or None."""
        return left_out_of_validation([f.image_path.name for f in self.images if f.chunked and f.split == "val"])

    @property
    def num_classes(self) -> int:
        """Network outputs the classes need (class value v is output v - 1)."""
        return max(int(c["value"]) for c in self.classes)


def snapshot_project(project: Project) -> ProjectSnapshot:
    """Read the project once (call on the thread that owns it)."""
    images, unlabelled = [], []
    for record in project.images:
        if record.split in SPLITS and _is_big(project, record.id):
            folder = project.chunked_labels_folder(record.id)
            file = LabelledFile(project.image_path(record.id), folder, record.split, chunked=True)
            (images if folder.is_dir() else unlabelled).append(file)
            continue
        path = project.annotation_path(record.id) if record.split in SPLITS else None
        if path is not None:
            layer = project.instances_path(record.id)
            images.append(LabelledFile(project.image_path(record.id), path, record.split,
                                       layer if layer.is_file() else None))
        elif record.split in SPLITS:
            first_save = project.folder / "annotations" / f"{record.id}.png"
            unlabelled.append(LabelledFile(project.image_path(record.id), first_save, record.split))
    classes = tuple(dataclasses.asdict(c) for c in project.classes)
    return ProjectSnapshot(project.folder, project.manifest_path, tuple(images), classes, tuple(unlabelled))


def _is_big(project: Project, image_id: str) -> bool:
    try:
        return project.is_big_image(image_id)
    except StudioError:  # no readable size: the ordinary path says why
        return False


def snapshot_items(snapshot: ProjectSnapshot,
                   normalization: dict) -> tuple[dict[str, list[TrainItem]], list[str], list[Path]]:
    """Training items by split ('train', 'val'), one line per unusable image, and the ordinary image files
    used. Images whose annotation is all unlabelled are left out. Big images marked 'train' are
    LazyTrainItems (read region by region); those marked 'val' are left out (big_source.py says why)."""
    by_split: dict[str, list[TrainItem]] = {split: [] for split in SPLITS}
    problems, used = [], []
    for item in snapshot.images:
        if item.chunked:
            try:
                big = open_big_item(item.image_path, item.annotation_path, normalization) if item.split == "train" else None
            except StudioError as error:
                problems.append(str(error))
                continue
            if big is not None:
                by_split["train"].append(big)
            continue
        try:
            annotation = read_annotation(item.annotation_path)
            if not annotation.any():
                continue
            pixels = read_image(item.image_path).pixels
            if pixels.shape[:2] != annotation.shape:
                raise TrainingError(item.image_path, f"image is {pixels.shape[0]} x {pixels.shape[1]} but its "
                                    f"annotation {annotation.shape[0]} x {annotation.shape[1]}")
            image = normalize_for_network(pixels, normalization["low"], normalization["high"])
            layer = item.instances_path
            ids = read_instances(layer, annotation.shape) if layer is not None and layer.is_file() else None
        except StudioError as error:
            problems.append(str(error))
            continue
        target = annotation.astype(np.int64) - 1
        by_split[item.split].append(TrainItem(image, target, name=str(item.image_path), instances=ids))
        used.append(item.image_path)
    return by_split, problems, used

