"""The project manifest (project.json, schema_version 1) as frozen dataclasses, validated on load.

Unknown keys are kept in each record's ``extra`` and written back, so a newer minor addition or a
hand edit survives a round trip. Every problem is a one-line ProjectError naming project.json.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from unet_studio.core.atomic import atomic_write_json
from unet_studio.core.errors import ProjectError

SCHEMA_VERSION = 1
STATUSES = ("unlabelled", "partial", "labelled", "predicted", "reviewed")
SPLITS = ("train", "val", "test")
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")


class _Invalid(ValueError):
    """A manifest field is wrong; load_manifest turns it into a ProjectError naming the file."""


def _require(ok: bool, reason: str) -> None:
    if not ok:
        raise _Invalid(reason)


def _int(value, where: str, minimum: int | None = None, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    _require(isinstance(value, int) and not isinstance(value, bool), f"{where} must be an integer")
    _require(minimum is None or value >= minimum, f"{where} must be at least {minimum}")
    return value


def _str(value, where: str, choices: tuple[str, ...] | None = None) -> str:
    _require(isinstance(value, str) and value != "", f"{where} must be a non-empty string")
    _require(choices is None or value in choices, f"{where} is {value!r}; expected one of {', '.join(choices or ())}")
    return value


def _dict(value, where: str) -> dict:
    _require(isinstance(value, dict), f"{where} must be an object")
    return dict(value)


def _split_known(data, where: str, known: tuple[str, ...], required: tuple[str, ...]) -> dict:
    """Check ``data`` is an object holding the required keys; return the unknown ones."""
    _require(isinstance(data, dict), f"{where} must be an object")
    missing = [key for key in required if key not in data]
    _require(not missing, f"{where} lacks {', '.join(missing)}")
    return {key: value for key, value in data.items() if key not in known}


def _known(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name != "extra")


@dataclass(frozen=True)
class ClassInfo:
    """A label class: ``value`` as stored in annotations (1 = background), name and '#rrggbb' colour."""

    value: int
    name: str
    color: str
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {**self.extra, "value": self.value, "name": self.name, "color": self.color}

    @classmethod
    def from_dict(cls, data, where: str = "class") -> ClassInfo:
        extra = _split_known(data, where, _known(cls), ("value", "name", "color"))
        color = _str(data["color"], f"{where} color")
        _require(bool(COLOR_PATTERN.match(color)), f"{where} color is {color!r}; expected '#rrggbb'")
        return cls(_int(data["value"], f"{where} value", 1), _str(data["name"], f"{where} name"), color, extra)


@dataclass(frozen=True)
class ImageRecord:
    """An original image: ``path`` relative to the project folder when inside it, else absolute. A stack's
    record also holds ``planes`` (its Z or T planes) and ``labelled_planes`` (how many hold labels); both
    stay None (and out of project.json) for single-plane images and for records made before they existed."""

    id: str
    path: str
    status: str = "unlabelled"
    split: str = "train"
    height: int | None = None
    width: int | None = None
    extra: dict = field(default_factory=dict)
    planes: int | None = None
    labelled_planes: int | None = None

    def to_dict(self) -> dict:
        own = {"id": self.id, "path": self.path, "status": self.status, "split": self.split,
               "height": self.height, "width": self.width}
        stack = {key: value for key, value in (("planes", self.planes), ("labelled_planes", self.labelled_planes))
                 if value is not None}
        return {**self.extra, **own, **stack}

    @classmethod
    def from_dict(cls, data, where: str = "image") -> ImageRecord:
        extra = _split_known(data, where, _known(cls), ("id", "path"))
        where = f"image {data['id']!r}" if isinstance(data.get("id"), str) else where
        return cls(
            _str(data["id"], f"{where} id"), _str(data["path"], f"{where} path"),
            _str(data.get("status", "unlabelled"), f"{where} status", STATUSES),
            _str(data.get("split", "train"), f"{where} split", SPLITS),
            _int(data.get("height"), f"{where} height", 1, optional=True),
            _int(data.get("width"), f"{where} width", 1, optional=True), extra,
            _int(data.get("planes"), f"{where} planes", 1, optional=True),
            _int(data.get("labelled_planes"), f"{where} labelled_planes", 0, optional=True),
        )


@dataclass(frozen=True)
class ModelRecord:
    """A trained model kept in the project's models/ folder."""

    id: str
    file: str
    name: str
    created: str
    architecture: str
    n_images: int
    val_dice: float | None = None
    metrics: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        own = {"id": self.id, "file": self.file, "name": self.name, "created": self.created,
               "architecture": self.architecture, "n_images": self.n_images, "val_dice": self.val_dice,
               "metrics": self.metrics}
        return {**self.extra, **own}

    @classmethod
    def from_dict(cls, data, where: str = "model") -> ModelRecord:
        extra = _split_known(data, where, _known(cls), ("id", "file", "name", "created", "architecture"))
        where = f"model {data['id']!r}" if isinstance(data.get("id"), str) else where
        dice = data.get("val_dice")
        _require(dice is None or (isinstance(dice, (int, float)) and not isinstance(dice, bool)
                                  and math.isfinite(dice)), f"{where} val_dice must be a number or null")
        return cls(
            _str(data["id"], f"{where} id"), _str(data["file"], f"{where} file"),
            _str(data["name"], f"{where} name"), _str(data["created"], f"{where} created"),
            _str(data["architecture"], f"{where} architecture"),
            _int(data.get("n_images", 0), f"{where} n_images", 0),
            None if dice is None else float(dice), _dict(data.get("metrics", {}), f"{where} metrics"), extra,
        )


@dataclass(frozen=True)
class Manifest:
    """Everything in project.json."""

    name: str
    classes: tuple[ClassInfo, ...]
    images: tuple[ImageRecord, ...] = ()
    models: tuple[ModelRecord, ...] = ()
    settings: dict = field(default_factory=dict)
    active_model: str | None = None
    schema_version: int = SCHEMA_VERSION
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        own = {"schema_version": self.schema_version, "name": self.name,
               "classes": [c.to_dict() for c in self.classes], "images": [i.to_dict() for i in self.images],
               "models": [m.to_dict() for m in self.models], "settings": self.settings,
               "active_model": self.active_model}
        return {**self.extra, **own}

    @classmethod
    def from_dict(cls, data) -> Manifest:
        extra = _split_known(data, "the manifest", _known(cls), ("schema_version", "name", "classes"))
        version = data["schema_version"]
        _require(isinstance(version, int) and not isinstance(version, bool) and version >= 1,
                 f"unknown schema_version {version!r}")
        _require(version <= SCHEMA_VERSION, f"made by a newer UNet Studio (schema_version {version}; "
                 f"this version reads {SCHEMA_VERSION})")
        lists = {key: data.get(key, []) for key in ("classes", "images", "models")}
        for key, value in lists.items():
            _require(isinstance(value, list), f"{key} must be a list")
        classes = tuple(ClassInfo.from_dict(c, f"classes[{i}]") for i, c in enumerate(lists["classes"]))
        images = tuple(ImageRecord.from_dict(r, f"images[{i}]") for i, r in enumerate(lists["images"]))
        models = tuple(ModelRecord.from_dict(m, f"models[{i}]") for i, m in enumerate(lists["models"]))
        _unique([c.value for c in classes], "class value")
        _unique([r.id for r in images], "image id")
        _unique([m.id for m in models], "model id")
        _require(any(c.value == 1 for c in classes), "classes lack the background class (value 1)")
        active = data.get("active_model")
        _require(active is None or active in {m.id for m in models}, f"active_model {active!r} is not a model")
        return cls(_str(data["name"], "name"), classes, images, models,
                   _dict(data.get("settings", {}), "settings"), active, version, extra)


def _unique(values: list, what: str) -> None:
    seen = set()
    for value in values:
        _require(value not in seen, f"duplicate {what} {value!r}")
        seen.add(value)


def load_manifest(path: str | os.PathLike) -> Manifest:
    """Read and validate project.json; every problem is a one-line ProjectError naming it."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ProjectError(source, "project file not found") from exc
    except UnicodeDecodeError as exc:
        raise ProjectError(source, "not a text file (invalid UTF-8)") from exc
    except OSError as exc:
        raise ProjectError(source, f"cannot read ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(source, f"invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from exc
    try:
        return Manifest.from_dict(data)
    except _Invalid as exc:
        raise ProjectError(source, f"invalid project file: {exc}") from exc


def save_manifest(path: str | os.PathLike, manifest: Manifest) -> None:
    """Write project.json atomically."""
    atomic_write_json(path, manifest.to_dict())
