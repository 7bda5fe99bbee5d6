"""data layer (see docs/ARCHITECTURE.md): augmentation, border weight maps, patch sampling, training batches."""

from unet_studio.data.augment import PRESET_NAMES, AugmentConfig, augment
from unet_studio.data.batches import Batch, BatchSource, check_trainable, count_labelled
from unet_studio.data.sampling import PatchSampler, TrainItem
from unet_studio.data.weights import BorderWeight, border_weight_map, class_weight_map

__all__ = [
    "PRESET_NAMES",
    "AugmentConfig",
    "augment",
    "Batch",
    "BatchSource",
    "check_trainable",
    "count_labelled",
    "PatchSampler",
    "TrainItem",
    "BorderWeight",
    "border_weight_map",
    "class_weight_map",
]
