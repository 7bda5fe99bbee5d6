"""What a training run reads from a project, fixed in a frozen snapshot on the thread that owns the project.

The GUI takes the snapshot on its own thread when Train is pressed; the training thread then reads only
the files it names (image files and annotation files, which are replaced atomically), never the live
`Project` that the GUI thread keeps saving into. Every labelled plane of a stack (Z or T) is one 2-D
training item of its own (core.plane_labels: a stack's labels are one multi-page file, a plane each).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_studio.core.annotations import read_annotation
from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.core.images import image_info, read_image
from unet_studio.core.instance_labels import read_instances
from unet_studio.core.normalize import normalize_for_network
from unet_studio.core.plane_labels import read_label_planes
from unet_studio.core.project import Project
from unet_studio.core.project_annotations import plane_file
from unet_studio.data.sampling import TrainItem
from unet_studio.training.big_source import left_out_of_validation, open_big_item

SPLITS = ("train", "val")


@dataclass(frozen=True)
class LabelledFile:
    """One image with saved labels: its file, its annotation file (1 = background), its split, its instance
    layer's file (None without one; plane k > 0 of a stack: core.project_annotations.plane_file) and its
    number of planes. `chunked`: a big image, whose annotation_path is its chunked label folder
    (core.chunked_labels) and which training reads region by region (training/big_source.py)."""

    image_path: Path
    annotation_path: Path
    split: str
    instances_path: Path | None = None
    n_planes: int = 1
    chunked: bool = False

    def instances_of(self, plane: int) -> Path | None:
        """The instance layer file of one plane, or None where it has none."""
        path = None if self.instances_path is None else plane_file(self.instances_path, plane)
        return path if path is not None and path.is_file() else None


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
        if record.split not in SPLITS:
            continue
        n_planes = project.n_planes(record.id)
        if path is not None:
            images.append(LabelledFile(project.image_path(record.id), path, record.split,
                                       project.instances_path(record.id), n_planes))
        else:
            first_save = project.folder / "annotations" / f"{record.id}{'.png' if n_planes == 1 else '.tif'}"
            unlabelled.append(LabelledFile(project.image_path(record.id), first_save, record.split, None, n_planes))
    classes = tuple(dataclasses.asdict(c) for c in project.classes)
    return ProjectSnapshot(project.folder, project.manifest_path, tuple(images), classes, tuple(unlabelled))


def _is_big(project: Project, image_id: str) -> bool:
    try:
        return project.is_big_image(image_id)
    except StudioError:  # no readable size: the ordinary path says why
        return False


def snapshot_items(snapshot: ProjectSnapshot,
                   normalization: dict) -> tuple[dict[str, list[TrainItem]], list[str], list[Path]]:
    """Training items by split ('train', 'val'): one per labelled plane; one line per unusable image, and the
    ordinary image files used. Planes whose annotation is all unlabelled are left out. Big images marked
    'train' are LazyTrainItems (read region by region); those marked 'val' are left out (big_source.py says
    why)."""
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
            found = read_items(item, item.annotation_path, normalization)
        except StudioError as error:
            problems.append(str(error))
            continue
        by_split[item.split].extend(found)
        if found:
            used.append(item.image_path)
    return by_split, problems, used


def labelled_planes(file: LabelledFile, path: Path) -> list[tuple[int, np.ndarray]]:
    """(plane, annotation) of each plane of ``file`` that holds a label, read from its annotation ``path``."""
    if file.n_planes == 1:
        annotations = [read_annotation(path)]
    else:
        info = image_info(file.image_path)
        annotations = read_label_planes(path, file.n_planes, (info.height, info.width))
    return [(plane, labels) for plane, labels in enumerate(annotations) if labels.any()]


def read_items(file: LabelledFile, path: Path, normalization: dict, image=None) -> list[TrainItem]:
    """One TrainItem per labelled plane of ``file`` (annotation read from ``path``); ``image(path, plane)``, if
    given, gives the normalised pixels (a cache), else they are read here."""
    items = []
    for plane, annotation in labelled_planes(file, path):
        if image is not None:
            pixels = image(file.image_path, plane)
        else:
            pixels = normalize_for_network(read_image(file.image_path, plane=plane).pixels, normalization["low"],
                                           normalization["high"])
        if pixels.shape[1:] != annotation.shape:
            raise TrainingError(file.image_path, f"image is {pixels.shape[1]} x {pixels.shape[2]} but its "
                                f"annotation {annotation.shape[0]} x {annotation.shape[1]}")
        layer = file.instances_of(plane)
        ids = read_instances(layer, annotation.shape) if layer is not None else None
        name = str(file.image_path) if file.n_planes == 1 else f"{file.image_path} [plane {plane}]"
        items.append(TrainItem(pixels, annotation.astype(np.int64) - 1, name=name, instances=ids))
    return items
