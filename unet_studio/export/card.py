"""Model cards: what an exported network expects, predicts, and was trained on, as plain JSON."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from unet_studio import __version__
from unet_studio.models.checkpoint import Checkpoint


def card_path(model_path: str | Path) -> Path:
    """Where the card of an exported model goes: `<file name>.card.json` beside it."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".card.json")


def min_input_size(checkpoint: Checkpoint) -> int:
    """Smallest height/width the exported network accepts: 2 ** (depth + 1), two pixels at the bottleneck."""
    return 2 ** (checkpoint.model_config.depth + 1)


def _finite(value: Any) -> Any:
    """JSON has no NaN/inf: such numbers become None."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def history_summary(history: dict[str, Any]) -> dict[str, Any]:
    """Per recorded series: how many values, the last one, the smallest and the largest."""
    summary: dict[str, Any] = {}
    for key, values in history.items():
        if isinstance(values, list) and values and all(isinstance(v, (int, float)) for v in values):
            finite = [float(v) for v in values if math.isfinite(float(v))]
            summary[key] = {"count": len(values), "last": _finite(float(values[-1])),
                            "min": min(finite, default=None), "max": max(finite, default=None)}
        elif isinstance(values, (int, float, str, bool)) or values is None:
            summary[key] = _finite(values)
    return summary


def recorded_training_files(checkpoint: Checkpoint) -> list[tuple[str, str]]:
    """The (file name, sha256) pairs the checkpoint's training run recorded (history "images")."""
    images = checkpoint.history.get("images") or []
    return [(str(item["name"]), str(item["sha256"])) for item in images
            if isinstance(item, dict) and "name" in item and "sha256" in item]


def model_card(checkpoint: Checkpoint, training_data: Iterable[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The card of a checkpoint; `training_data` lists the (file, sha256) pairs it was trained on (by default
    the ones its training run recorded, for models trained on a project or on --images/--labels alike)."""
    config = checkpoint.model_config
    if training_data is None:
        training_data = recorded_training_files(checkpoint)
    return {
        "name": checkpoint.path.stem,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "checkpoint_created": checkpoint.created,
        "unet_studio_version": __version__,
        "architecture": config.to_dict(),
        "classes": checkpoint.classes,
        "normalization": checkpoint.normalization,
        "input": {
            "layout": "NCHW", "dtype": "float32", "channels": config.in_channels,
            "size": f"any height and width >= {min_input_size(checkpoint)} (padded inside the model)",
            "preprocessing": "each channel mapped by its own low/high percentiles (see normalization) to "
                             "about 0..1, clipped to [-0.5, 1.5], non-finite pixels set to 0",
        },
        "output": {
            "name": "logits", "layout": "NCHW", "dtype": "float32", "channels": config.num_classes,
            "size": "same height and width as the input",
            "meaning": "softmax over channels gives class probabilities; channel 0 is background, channel k "
                       "object class k, so the argmax is a mask with 0 = background, k = class k",
        },
        "threshold": checkpoint.threshold,
        "training_data": [{"file": str(name), "sha256": str(sha)} for name, sha in training_data],
        "metrics": {key: _finite(value) for key, value in checkpoint.metrics.items()},
        "history": history_summary(checkpoint.history),
        "interrupted": checkpoint.interrupted,
    }
