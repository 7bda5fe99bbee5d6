"""A training run's history: one value per epoch for each curve (the GUI's plots, the checkpoint's record)."""

from __future__ import annotations

from typing import Any

EPOCH_SERIES = ("epochs", "steps", "train_loss", "val_loss", "val_dice", "lr", "seconds", "patches_per_s")


def new_history(batch_size: int, patch_size: int, device: str, images: list,
                validation_images: list[str]) -> dict[str, Any]:
    """An empty history: every epoch series empty, plus what the run trains on."""
    return {**{key: [] for key in EPOCH_SERIES}, "batch_size": batch_size, "patch_size": patch_size, "device": device,
            "images": images, "validation_images": validation_images, "best_epoch": None}


def record_epoch(history: dict[str, Any], **values: Any) -> None:
    """Append one epoch's value to each series (every key of EPOCH_SERIES must be given)."""
    for key in EPOCH_SERIES:
        history[key].append(values[key])
