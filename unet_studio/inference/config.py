"""PredictConfig: how a network is run over an image (tiles, flips, precision, engine), frozen and JSON-friendly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from unet_studio.core.errors import StudioError
from unet_studio.runtime.precision import REQUESTS

BACKENDS = ("auto", "torch", "onnxruntime")


@dataclass(frozen=True)
class PredictConfig:
    """Tiling and run settings shared by the tiler, the Predictor, validation and the training preview.

    ``tile`` is the largest tile side and ``overlap`` the least overlap between tiles (pixels); ``tta``
    averages the four flips. ``precision`` is "auto" (the runtime policy: mixed precision only where it
    measured faster than fp32) or a forced "fp32" | "bf16" | "fp16". ``backend`` is what the Predictor runs
    its network with: "torch", "onnxruntime" (CPU, 'same'-padded networks) or "auto" (ONNX Runtime on a
    CPU whose chosen precision is fp32, where it was faster than torch; torch everywhere else).
    """

    tile: int = 1024
    overlap: int = 64
    tta: bool = False
    precision: str = "auto"
    backend: str = "auto"

    def __post_init__(self) -> None:
        if self.tile < 8 or not 0 <= self.overlap <= self.tile // 2:
            raise StudioError(f"tile {self.tile}, overlap {self.overlap}", "tile must be >= 8 and overlap in 0..tile/2")
        if self.precision not in REQUESTS:
            raise StudioError(f"precision {self.precision!r}", f"choose one of {', '.join(REQUESTS)}")
        if self.backend not in BACKENDS:
            raise StudioError(f"backend {self.backend!r}", f"choose one of {', '.join(BACKENDS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictConfig:
        """Build from JSON; unknown keys are a one-line StudioError, missing keys take the defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StudioError("prediction settings", f"unknown key(s) {', '.join(unknown)}")
        return cls(**data)
