"""What the training panel's form describes, as a frozen dataclass, and why Train may be unavailable.

`TrainingSettings.model_overrides` / `train_overrides` are applied on top of the preset; the form does
not show them. They let scripts and tests ask for a tiny model (e.g. base_channels=4, depth=2) without
adding expert widgets to the panel.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from unet_studio.core.annotations import classes_present
from unet_studio.core.chunked_labels import INDEX_NAME
from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.core.plane_labels import read_every_plane
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.batches import labels_problem
from unet_studio.models.config import DEFAULT_PRESET, ModelConfig
from unet_studio.training.config import TrainConfig

LIMITS = ("seconds", "epochs")


@dataclass(frozen=True)
class TrainingSettings:
    """Architecture, size preset, loss, augmentation preset, time or epoch budget and device."""

    arch: str = "unet"
    preset: str = DEFAULT_PRESET  # the engine's default model, the one the benchmarks measure
    loss: str = "ce+dice"
    augment: str = "default"
    limit: str = "seconds"
    seconds: int = 120
    epochs: int = 20
    device: str = "auto"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    train_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.limit not in LIMITS:
            raise TrainingError("training settings", f"limit {self.limit!r} unknown, choose one of {', '.join(LIMITS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingSettings:
        """Inverse of to_dict; unknown keys are refused."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise TrainingError("training settings", f"unknown setting(s) {', '.join(unknown)}")
        return cls(**data)

    def model_config(self) -> ModelConfig:
        """The preset's ModelConfig for the architecture (channels and classes are set from the project)."""
        return ModelConfig.from_preset(self.preset, self.arch, **self.model_overrides)

    def train_config(self) -> TrainConfig:
        """TrainConfig with the chosen loss, augmentation, budget and device."""
        try:
            augment = AugmentConfig.preset(self.augment)
        except ValueError as error:
            raise TrainingError("training settings", str(error)) from None
        budget = {"max_seconds": float(self.seconds)} if self.limit == "seconds" else {"epochs": int(self.epochs)}
        values = {"loss": self.loss, "augment": augment, "device": self.device, **budget, **self.train_overrides}
        return TrainConfig(**values)


class LabelCensus:
    """Which label values each saved annotation holds, re-read only when a file changes (size, mtime); a big
    image's chunked labels are counted from their index (no chunk read while the index is current)."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int], tuple[int, ...]]] = {}

    def values(self, path: Path) -> tuple[int, ...]:
        return self._cached(path, lambda: classes_present(read_every_plane(path)))

    def chunked_values(self, project, image_id: str) -> tuple[int, ...]:
        """The label values of a big image's chunked labels (none before the first save)."""
        folder = project.chunked_labels_folder(image_id)
        if not (folder / INDEX_NAME).is_file():
            return ()
        return self._cached(folder / INDEX_NAME, lambda: project.chunked_labels(image_id).values_present())

    def _cached(self, path: Path, count) -> tuple[int, ...]:
        stat = os.stat(path)
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != key:
            cached = (key, count())
            self._cache[path] = cached
        return cached[1]

    def blocker(self, project, current_id: str | None = None, current_labels=None) -> str | None:
        """Why training cannot start (one line, data.batches.labels_problem), or None: no labels, one class.

        `current_labels` (the unsaved labels of the image shown, or the label values they hold) replace
        that image's file (they join a stack's file: it holds the other planes too)."""
        if project is None:
            return "open a project first"
        present: set[int] = set()
        use_current = current_id is not None and current_labels is not None
        for record in project.images:
            if use_current and record.id == current_id and (record.planes or 1) == 1:
                continue
            try:
                if project.is_big_image(record.id):
                    present.update(self.chunked_values(project, record.id))
                    continue
                path = project.annotation_path(record.id)
                if path is not None:
                    present.update(self.values(path))
            except (StudioError, OSError):
                continue
        if use_current and len(present) < 2:  # the shown image's labels are only scanned when they can matter
            present.update(current_labels if isinstance(current_labels, tuple) else classes_present(current_labels))
        return labels_problem({value - 1 for value in present})  # annotation 1.. -> network 0..
