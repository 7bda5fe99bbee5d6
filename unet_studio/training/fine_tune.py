"""Fine-tuning: a new run's model starts from a checkpoint's weights (all of them, or all but the head)."""

from __future__ import annotations

import dataclasses

from torch import nn

from unet_studio.core.errors import TrainingError
from unet_studio.models.checkpoint import Checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.models.registry import build_model


def load_init_weights(model: nn.Module, model_config: ModelConfig, classes: list, init: Checkpoint) -> str:
    """Copy init's weights; with other classes every weight but the output head is copied."""
    ours = dataclasses.replace(model_config, num_classes=init.model_config.num_classes)
    if ours != init.model_config:
        raise TrainingError(init.path, "cannot fine-tune: the checkpoint's architecture differs from the "
                                       "model settings (use the checkpoint's model settings)")
    same_classes = [(c["value"], c["name"]) for c in init.classes] == [(c["value"], c["name"]) for c in classes]
    if same_classes and init.model_config.num_classes == model_config.num_classes:
        model.load_state_dict(init.state_dict)
        return f"fine-tuning from {init.path.name}"
    wider = build_model(dataclasses.replace(model_config, num_classes=model_config.num_classes + 1))
    head = {k for k, v in wider.state_dict().items() if v.shape != model.state_dict()[k].shape}
    kept = {k: v for k, v in init.state_dict.items() if k not in head}
    model.load_state_dict(kept, strict=False)
    return f"fine-tuning from {init.path.name}: classes differ, output head re-initialised"
