"""inference layer: overlap-tile prediction, post-processing, instances and the Predictor (see docs/ARCHITECTURE.md)."""

from unet_studio.inference.postprocess import mask_to_instances, probabilities_to_mask
from unet_studio.inference.predictor import Prediction, Predictor
from unet_studio.inference.tiling import predict_mask, predict_probabilities, tile_layout

__all__ = [
    "Prediction",
    "Predictor",
    "mask_to_instances",
    "predict_mask",
    "predict_probabilities",
    "probabilities_to_mask",
    "tile_layout",
]
