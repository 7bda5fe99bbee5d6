"""models layer: the U-Net family behind one ModelConfig and build_model() (see docs/ARCHITECTURE.md)."""

from unet_studio.models.config import PRESETS, ModelConfig
from unet_studio.models.registry import build_model

__all__ = ["PRESETS", "ModelConfig", "build_model"]
