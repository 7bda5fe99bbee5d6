"""One way to open any model file for prediction: a UNet Studio checkpoint (.pt) or a bioimage.io package."""

from __future__ import annotations

from pathlib import Path

from unet_studio.inference.config import PredictConfig
from unet_studio.inference.package_model import PackagePredictor
from unet_studio.inference.predictor import Predictor
from unet_studio.models.package_checkpoint import is_bioimageio_package


def load_predictor(path: str | Path, device: str = "auto",
                   config: PredictConfig | None = None) -> Predictor | PackagePredictor:
    """A bioimage.io package runs its own TorchScript or ONNX weights with its own pre- and post-processing
    (on the CPU); anything else loads as a checkpoint (`Predictor.from_checkpoint`)."""
    if is_bioimageio_package(path):
        return PackagePredictor.from_package(path, config)
    return Predictor.from_checkpoint(path, device=device, config=config)
