"""A project folder: project.json plus annotations/, predictions/ and models/.

Original images are only referenced (relative to the folder when inside it, else absolute) and never
written. Every change that touches the manifest saves it atomically at once.
"""

from __future__ import annotations

import colorsys
import os
import shutil
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from unet_studio.core.atomic import atomic_writer, remove_stale_temp_files
from unet_studio.core.colors import BACKGROUND_COLOR, PALETTE
from unet_studio.core.errors import ImageReadError, ProjectError
from unet_studio.core.instance_labels import INSTANCE_FOLDER
from unet_studio.core.images import file_stem, image_info, list_images
from unet_studio.core.manifest import (
    COLOR_PATTERN, SPLITS, STATUSES, ClassInfo, ImageRecord, Manifest, ModelRecord, load_manifest, save_manifest,
)
from unet_studio.core.lazy_images import lazy_image_size, list_zarr_images
from unet_studio.core.project_annotations import ProjectAnnotations
from unet_studio.core.project_chunked import ProjectChunkedLabels

MANIFEST_NAME = "project.json"
SUBFOLDERS = ("annotations", "predictions", "models")


class Project(ProjectAnnotations, ProjectChunkedLabels):
    """An open project; read state from the properties, change it through the methods (annotations and
    predictions: core/project_annotations.py; chunked labels of huge images: core/project_chunked.py)."""

    def __init__(self, folder: Path, manifest: Manifest):
        self.folder = folder
        self._manifest = manifest

    # --- opening -----------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | os.PathLike, image_paths=(), name: str | None = None) -> Project:
        """Make a new project in ``folder`` (created if needed) referencing ``image_paths``."""
        root = Path(folder).absolute()
        if (root / MANIFEST_NAME).exists():
            raise ProjectError(root / MANIFEST_NAME, "a project already exists here")
        try:
            for sub in SUBFOLDERS:
                (root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(root, f"cannot create project folder ({exc.strerror or exc})") from exc
        project = cls(root, Manifest(name or root.name, cls.default_classes()))
        project.add_images(image_paths)
        project.save()
        return project

    @classmethod
    def open(cls, folder: str | os.PathLike) -> Project:
        """Open an existing project (ProjectError naming project.json when it is missing or invalid)."""
        root = Path(folder).absolute()
        project = cls(root, load_manifest(root / MANIFEST_NAME))
        for sub in ("", *SUBFOLDERS, INSTANCE_FOLDER):
            remove_stale_temp_files(root / sub)
        return project

    @classmethod
    def open_or_create(cls, folder: str | os.PathLike) -> Project:
        """Open the project in ``folder``, or turn a plain folder of images into one, in place."""
        root = Path(folder).absolute()
        if (root / MANIFEST_NAME).exists():
            return cls.open(root)
        if not root.is_dir():
            raise ProjectError(root, "folder not found")
        return cls.create(root, list_images(root) + list_zarr_images(root))

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_NAME

    def save(self) -> None:
        """Write project.json atomically."""
        save_manifest(self.manifest_path, self._manifest)

    def _commit(self, **changes) -> None:
        """Save the changed manifest, then adopt it: a failed save leaves memory and disk alike."""
        changed = replace(self._manifest, **changes)
        save_manifest(self.manifest_path, changed)
        self._manifest = changed

    def _subfolder(self, name: str) -> Path:
        """``annotations``/``predictions``/``models``, made again if someone deleted it."""
        folder = self.folder / name
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or str(exc)
            raise ProjectError(folder, f"cannot create folder ({reason})") from exc
        return folder

    # --- read-only state ---------------------------------------------------------------------------
    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def name(self) -> str:
        return self._manifest.name

    @property
    def images(self) -> tuple[ImageRecord, ...]:
        return self._manifest.images

    @property
    def classes(self) -> tuple[ClassInfo, ...]:
        return self._manifest.classes

    @property
    def models(self) -> tuple[ModelRecord, ...]:
        return self._manifest.models

    @property
    def active_model(self) -> str | None:
        return self._manifest.active_model

    @property
    def settings(self) -> dict:
        return dict(self._manifest.settings)

    def update_settings(self, **values) -> None:
        """Merge ``values`` (JSON-compatible) into the project settings and save."""
        self._commit(settings={**self._manifest.settings, **values})

    # --- images ------------------------------------------------------------------------------------
    def image(self, image_id: str) -> ImageRecord:
        for record in self._manifest.images:
            if record.id == image_id:
                return record
        raise ProjectError(self.manifest_path, f"no image with id {image_id!r}")

    def image_path(self, image_id: str) -> Path:
        """Absolute path of the original image."""
        path = Path(self.image(image_id).path)
        return path if path.is_absolute() else self.folder / path

    def add_images(self, paths) -> list[ImageRecord]:
        """Reference new image files; ids are file stems made unique. Unreadable files are still listed."""
        taken = {r.id for r in self._manifest.images}
        known = {self.image_path(r.id).resolve() for r in self._manifest.images}
        added: list[ImageRecord] = []
        for raw in paths:
            path = Path(raw).absolute()
            if path.resolve() in known:
                continue
            known.add(path.resolve())
            stem = file_stem(path)
            image_id, n = stem, 2
            while image_id in taken:
                image_id, n = f"{stem}_{n}", n + 1
            taken.add(image_id)
            try:
                info = image_info(path)
                size = {"height": info.height, "width": info.width}
                size.update({"planes": info.n_planes} if info.n_planes > 1 else {})
            except ImageReadError:  # an OME-Zarr folder or a TIFF too big to read whole keeps its size too
                lazy = lazy_image_size(path)
                size = {"height": lazy[0], "width": lazy[1]} if lazy else {}
            added.append(ImageRecord(image_id, self._reference(path), **size))
        if added:
            self._commit(images=self._manifest.images + tuple(added))
        return added

    def _reference(self, path: Path) -> str:
        try:
            return path.relative_to(self.folder).as_posix()
        except ValueError:
            return str(path)

    def _replace_image(self, record: ImageRecord) -> None:
        images = tuple(record if r.id == record.id else r for r in self._manifest.images)
        self._commit(images=images)

    def set_status(self, image_id: str, status: str) -> None:
        if status not in STATUSES:
            raise ProjectError(self.manifest_path, f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        self._replace_image(replace(self.image(image_id), status=status))

    def set_split(self, image_id: str, split: str) -> None:
        if split not in SPLITS:
            raise ProjectError(self.manifest_path, f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        self._replace_image(replace(self.image(image_id), split=split))

    def auto_split(self, val_fraction: float = 0.2, seed: int = 0) -> tuple[str, ...]:
        """If every image is still 'train', move a seeded random ``val_fraction`` of them to 'val'."""
        images = self._manifest.images
        if not images or any(r.split != "train" for r in images):
            return ()
        n_val = min(len(images) - 1, max(1, round(len(images) * val_fraction))) if val_fraction > 0 else 0
        chosen = {images[i].id for i in np.random.default_rng(seed).permutation(len(images))[:n_val]}
        self._commit(images=tuple(replace(r, split="val") if r.id in chosen else r for r in images))
        return tuple(r.id for r in images if r.id in chosen)

    # --- classes -----------------------------------------------------------------------------------
    @staticmethod
    def default_classes() -> tuple[ClassInfo, ...]:
        """Background (value 1) and one object class (value 2); users add more as they need them."""
        return (ClassInfo(1, "background", BACKGROUND_COLOR), ClassInfo(2, "object", PALETTE[0]))

    def class_info(self, value: int) -> ClassInfo:
        for info in self._manifest.classes:
            if info.value == value:
                return info
        raise ProjectError(self.manifest_path, f"no class with value {value}")

    def _valid_color(self, color: str) -> str:
        if not isinstance(color, str) or not COLOR_PATTERN.match(color):
            raise ProjectError(self.manifest_path, f"colour {color!r} is not '#rrggbb'")
        return color.lower()

    def _unused_color(self) -> str:
        used = {c.color.lower() for c in self._manifest.classes}
        for n in range(len(used) + len(PALETTE) + 1):
            rgb = colorsys.hsv_to_rgb((n * 0.618034) % 1.0, 0.7, 0.95)
            candidate = PALETTE[n] if n < len(PALETTE) else "#" + "".join(f"{round(v * 255):02x}" for v in rgb)
            if candidate not in used:
                return candidate
        return PALETTE[0]

    def _replace_class(self, info: ClassInfo) -> None:
        self._commit(classes=tuple(info if c.value == info.value else c for c in self._manifest.classes))

    def add_class(self, name: str, color: str | None = None) -> ClassInfo:
        """A new object class with the next value and a colour not used yet (unless given)."""
        info = ClassInfo(max(c.value for c in self._manifest.classes) + 1, name,
                         self._unused_color() if color is None else self._valid_color(color))
        self._commit(classes=self._manifest.classes + (info,))
        return info

    def rename_class(self, value: int, name: str) -> None:
        self._replace_class(replace(self.class_info(value), name=name))

    def recolor_class(self, value: int, color: str) -> None:
        self._replace_class(replace(self.class_info(value), color=self._valid_color(color)))

    def remove_class(self, value: int) -> None:
        """Remove an object class: its annotated pixels become 0 (unlabelled), higher values shift down
        by one so class values stay contiguous; predictions are remapped the same way (to background)."""
        if value == 1:
            raise ProjectError(self.manifest_path, "the background class (value 1) cannot be removed")
        self.class_info(value)
        lut = np.arange(65536, dtype=np.int64)
        lut[value], lut[value + 1:] = 0, lut[value + 1:] - 1
        images = [self._remap_labels(record, lut, value) for record in self._manifest.images]
        classes = tuple(replace(c, value=int(lut[c.value])) for c in self._manifest.classes if c.value != value)
        self._commit(classes=classes, images=tuple(images))

    # --- models ------------------------------------------------------------------------------------
    def new_model_path(self) -> Path:
        """Where a new training run writes its checkpoint: models/model-<UTC time>.pt."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        return self._subfolder("models") / f"model-{stamp}.pt"

    def add_model(self, checkpoint_file, name: str, architecture: str, n_images: int,
                  val_dice: float | None = None, metrics: dict | None = None, move: bool = False) -> ModelRecord:
        """Copy (or move) a checkpoint into models/ atomically and record it."""
        source = Path(checkpoint_file).absolute()
        models_dir = self._subfolder("models")
        taken = {m.id for m in self._manifest.models}
        if source.parent == models_dir and source.stem not in taken:
            model_id, target = source.stem, source
        else:
            model_id = next(f"model-{n}" for n in range(1, len(taken) + 2) if f"model-{n}" not in taken)
            target = models_dir / f"{model_id}{source.suffix or '.pt'}"
            try:
                with open(source, "rb") as src, atomic_writer(target) as dst:
                    shutil.copyfileobj(src, dst)
            except FileNotFoundError as exc:
                raise ProjectError(source, "checkpoint file not found") from exc
            if move:
                source.unlink()
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        record = ModelRecord(model_id, target.relative_to(self.folder).as_posix(), name, created, architecture,
                             int(n_images), None if val_dice is None else float(val_dice), dict(metrics or {}))
        self._commit(models=self._manifest.models + (record,))
        return record

    def model(self, model_id: str) -> ModelRecord:
        for record in self._manifest.models:
            if record.id == model_id:
                return record
        raise ProjectError(self.manifest_path, f"no model with id {model_id!r}")

    def model_path(self, model_id: str) -> Path:
        return self.folder / self.model(model_id).file

    def set_active_model(self, model_id: str | None) -> None:
        if model_id is not None:
            self.model(model_id)
        self._commit(active_model=model_id)

    def rename_model(self, model_id: str, name: str) -> None:
        record = replace(self.model(model_id), name=name)
        self._commit(models=tuple(record if m.id == model_id else m for m in self._manifest.models))

    def remove_model(self, model_id: str) -> None:
        """Forget a model and delete its file (the active model becomes none if it was this one)."""
        path = self.model_path(model_id)
        active = None if self._manifest.active_model == model_id else self._manifest.active_model
        self._commit(models=tuple(m for m in self._manifest.models if m.id != model_id), active_model=active)
        path.unlink(missing_ok=True)

