"""AugmentConfig: which augmentations run, how strong, and how often; named presets for the GUI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

RANGE_FIELDS = ("scale_range", "gamma_range", "intensity_scale")
PROBABILITY_FIELDS = ("flip_p", "rot90_p", "affine_p", "elastic_p", "gamma_p", "noise_p", "intensity_p")


@dataclass(frozen=True)
class AugmentConfig:
    """Per-patch augmentation settings; each transform fires independently with its probability.

    Geometric: flips (each axis), quarter turns, an affine warp (rotation in +-rotation_deg, log-uniform
    scale in scale_range, shift up to shift_fraction of the patch) and an elastic warp (the U-Net paper's
    coarse elastic_grid x elastic_grid random displacements of std elastic_sigma pixels, bicubically
    upsampled). Intensity (image only): gamma, scale/shift, additive gaussian noise of std up to noise_std.
    """

    flip_p: float = 0.5
    rot90_p: float = 0.5
    affine_p: float = 0.5
    rotation_deg: float = 45.0
    scale_range: tuple[float, float] = (0.8, 1.25)
    shift_fraction: float = 0.05
    elastic_p: float = 0.3
    elastic_sigma: float = 10.0
    elastic_grid: int = 3
    gamma_p: float = 0.3
    gamma_range: tuple[float, float] = (0.7, 1.5)
    noise_p: float = 0.3
    noise_std: float = 0.05
    intensity_p: float = 0.5
    intensity_scale: tuple[float, float] = (0.9, 1.1)
    intensity_shift: float = 0.1

    def __post_init__(self) -> None:
        for name in PROBABILITY_FIELDS:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"AugmentConfig.{name} must be a probability in [0, 1], got {getattr(self, name)}")
        for name in RANGE_FIELDS:
            low, high = getattr(self, name)
            if not 0.0 < low <= high:
                raise ValueError(f"AugmentConfig.{name} must be (low, high) with 0 < low <= high, got {(low, high)}")
        if self.elastic_grid < 2:
            raise ValueError(f"AugmentConfig.elastic_grid must be at least 2, got {self.elastic_grid}")
        for name in ("rotation_deg", "shift_fraction", "elastic_sigma", "noise_std", "intensity_shift"):
            if getattr(self, name) < 0:
                raise ValueError(f"AugmentConfig.{name} must not be negative, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        data = asdict(self)
        for name in RANGE_FIELDS:
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> AugmentConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown augmentation settings: {', '.join(unknown)}")
        values = dict(data)
        for name in RANGE_FIELDS:
            if name in values:
                values[name] = tuple(float(v) for v in values[name])
        return cls(**values)

    @classmethod
    def preset(cls, name: str) -> AugmentConfig:
        """One of PRESET_NAMES: "none", "light", "default", "strong"."""
        if name not in PRESETS:
            raise ValueError(f"unknown augmentation preset {name!r}; expected one of {', '.join(PRESET_NAMES)}")
        return PRESETS[name]


_NO_AUGMENTATION = AugmentConfig(**{name: 0.0 for name in PROBABILITY_FIELDS})
PRESETS = {
    "none": _NO_AUGMENTATION,
    "light": replace(_NO_AUGMENTATION, flip_p=0.5, rot90_p=0.5, intensity_p=0.3, intensity_shift=0.05),
    "default": AugmentConfig(),
    "strong": AugmentConfig(
        affine_p=0.8,
        scale_range=(0.7, 1.4),
        shift_fraction=0.1,
        elastic_p=0.5,
        elastic_sigma=12.0,
        gamma_p=0.5,
        gamma_range=(0.5, 2.0),
        noise_p=0.5,
        noise_std=0.1,
        intensity_p=0.7,
        intensity_scale=(0.75, 1.3),
        intensity_shift=0.2,
    ),
}
PRESET_NAMES = tuple(PRESETS)
