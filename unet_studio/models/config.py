"""ModelConfig: the frozen description of a network, stored in checkpoints and project files."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from unet_studio.core.errors import ModelFileError

ARCHS = ("unet", "unetpp", "attention-unet")  # 2-D networks (the GUI offers these)
VOLUME_ARCHS = ("unet3d",)  # 3-D networks for (Z, H, W) volumes: trained and run from the CLI
ARCH_TITLES = {"unet": "U-Net", "unetpp": "U-Net++", "attention-unet": "Attention U-Net"}
VOLUME_ARCH_TITLES = {"unet3d": "3-D U-Net"}
NORMS = ("batch", "instance", "group", "none")
UPSAMPLES = ("transpose", "bilinear")
PADDINGS = ("same", "valid")
MAX_DEPTH = 6
CONFIG_SOURCE = "model config"

# Speed/quality trade-offs per architecture; each value is a partial set of ModelConfig keyword arguments.
# Chosen with benchmarks/model_speed.py on a 2-core CPU: batch norm and transposed convs were as fast as or
# faster than the alternatives, depth 3 / base 16 trained 1.2-2.7x faster than depth 4 / base 16.
# The 2-D U-Net's "balanced" is depth 3 / base 8 (8-16-32-64 channels, 3.5 GFLOP per 256 x 256 patch forward
# and backward, a quarter of depth 3 / base 16): on an AVX2 CPU without bf16 it scored as well as base 16 on
# dense ISBI, dense DSB and scribbles at the steps each gets in the same seconds (README, Measured), where
# depth 4 / base 8 fell behind on scribbles. "fast" is depth 3 / base 4 (1.8x faster again, not quality-checked).
# "balanced" is the one to offer by default (ModelConfig() itself keeps the contract's depth 4 / base 32).
# unet3d: a training step at batch 2 x 8 x 96 x 96 took 1.3 s at base 8 and 6.4 s at base 16 (depth 3, fp32,
# channels_last_3d, 2 threads, load 6), so the 3-D presets are a size smaller than the 2-D ones.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "fast": {
        "unet": {"depth": 3, "base_channels": 4, "norm": "batch", "upsample": "transpose"},
        "unetpp": {"depth": 2, "base_channels": 8, "norm": "batch", "upsample": "transpose"},
        "attention-unet": {"depth": 3, "base_channels": 8, "norm": "batch", "upsample": "transpose"},
        "unet3d": {"depth": 2, "base_channels": 8, "norm": "batch", "upsample": "transpose"},
    },
    "balanced": {
        "unet": {"depth": 3, "base_channels": 8, "norm": "batch", "upsample": "transpose"},
        "unetpp": {"depth": 3, "base_channels": 16, "norm": "batch", "upsample": "transpose"},
        "attention-unet": {"depth": 3, "base_channels": 16, "norm": "batch", "upsample": "transpose"},
        "unet3d": {"depth": 3, "base_channels": 8, "norm": "batch", "upsample": "transpose"},
    },
    "accurate": {
        "unet": {"depth": 4, "base_channels": 32, "norm": "batch", "upsample": "transpose"},
        "unetpp": {"depth": 4, "base_channels": 32, "norm": "batch", "upsample": "transpose"},
        "attention-unet": {"depth": 4, "base_channels": 32, "norm": "batch", "upsample": "transpose"},
        "unet3d": {"depth": 3, "base_channels": 16, "norm": "batch", "upsample": "transpose"},
    },
}
DEFAULT_PRESET = "balanced"


@dataclass(frozen=True)
class ModelConfig:
    """What build_model() needs: architecture, channel counts, depth (number of poolings) and options."""

    arch: str = "unet"
    in_channels: int = 1
    num_classes: int = 2
    depth: int = 4
    base_channels: int = 32
    norm: str = "batch"
    upsample: str = "transpose"
    padding: str = "same"
    deep_supervision: bool = False
    dropout: float = 0.0
    xy_pool_levels: int = 0  # unet3d: the first this many poolings are (1, 2, 2), x-y only (thin z)

    def __post_init__(self) -> None:
        problem = _first_problem(self)
        if problem:
            raise ModelFileError(CONFIG_SOURCE, problem)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = CONFIG_SOURCE) -> ModelConfig:
        """Builds a config from to_dict() output; missing keys take defaults, unknown keys or values raise.

        `source` names the file the dict came from, for the one-line error message.
        """
        if not isinstance(data, dict):
            raise ModelFileError(source, f"model config must be a mapping, got {type(data).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelFileError(source, f"unknown model config key(s): {', '.join(map(str, unknown))}")
        try:
            return cls(**data)
        except ModelFileError as error:
            raise ModelFileError(source, error.reason) from None

    @classmethod
    def from_preset(cls, preset: str = DEFAULT_PRESET, arch: str = "unet", **overrides: Any) -> ModelConfig:
        """The config of a named preset for `arch`, with explicit keyword overrides on top."""
        if preset not in PRESETS:
            raise ModelFileError(CONFIG_SOURCE, f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        if arch not in ARCHS + VOLUME_ARCHS:
            choices = ", ".join(ARCHS + VOLUME_ARCHS)
            raise ModelFileError(CONFIG_SOURCE, f"unknown arch {arch!r}; choose one of {choices}")
        return cls(arch=arch, **{**PRESETS[preset][arch], **overrides})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _first_problem(config: ModelConfig) -> str | None:
    """The first reason `config` is unusable, or None when it is valid."""
    choices = {"arch": ARCHS + VOLUME_ARCHS, "norm": NORMS, "upsample": UPSAMPLES, "padding": PADDINGS}
    for name, allowed in choices.items():
        value = getattr(config, name)
        if value not in allowed:
            return f"unknown {name} {value!r}; choose one of {', '.join(allowed)}"
    minimums = {"in_channels": 1, "num_classes": 2, "depth": 1, "base_channels": 1}
    for name, minimum in minimums.items():
        value = getattr(config, name)
        if not _is_int(value) or value < minimum:
            return f"{name} must be an integer >= {minimum}, got {value!r}"
    if config.depth > MAX_DEPTH:
        return f"depth must be 1..{MAX_DEPTH}, got {config.depth}"
    if not isinstance(config.deep_supervision, bool):
        return f"deep_supervision must be true or false, got {config.deep_supervision!r}"
    if not isinstance(config.dropout, (int, float)) or isinstance(config.dropout, bool):
        return f"dropout must be a number in [0, 1), got {config.dropout!r}"
    if not 0.0 <= config.dropout < 1.0:
        return f"dropout must be in [0, 1), got {config.dropout}"
    if config.padding == "valid" and config.arch != "unet":
        return f"padding 'valid' is only available for arch 'unet', not {config.arch!r}"
    if config.deep_supervision and config.arch != "unetpp":
        return f"deep_supervision is only available for arch 'unetpp', not {config.arch!r}"
    if not _is_int(config.xy_pool_levels) or not 0 <= config.xy_pool_levels <= config.depth:
        return f"xy_pool_levels must be an integer in 0..depth ({config.depth}), got {config.xy_pool_levels!r}"
    if config.xy_pool_levels and config.arch not in VOLUME_ARCHS:
        return f"xy_pool_levels is only available for arch 'unet3d', not {config.arch!r}"
    return None
