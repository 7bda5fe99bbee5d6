"""training layer (see docs/ARCHITECTURE.md): losses, device choice, events, Trainer, entry points."""

from unet_studio.training.api import iter_train_folders, iter_train_project, load_training_items
from unet_studio.training.config import TrainConfig
from unet_studio.runtime.device import DeviceChoice, describe_devices, select_device
from unet_studio.training.events import EpochEnded, Log, PreviewReady, StepEnded, TrainingEvent, TrainingFinished
from unet_studio.training.trainer import Trainer

__all__ = [
    "iter_train_folders",
    "iter_train_project",
    "load_training_items",
    "TrainConfig",
    "DeviceChoice",
    "describe_devices",
    "select_device",
    "EpochEnded",
    "Log",
    "PreviewReady",
    "StepEnded",
    "TrainingEvent",
    "TrainingFinished",
    "Trainer",
]
