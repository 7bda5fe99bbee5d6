"""Checkpoints: a dict of plain data + CPU tensors, written atomically and read with weights_only=True."""

from __future__ import annotations

import dataclasses
import io
import pickle
import re
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from unet_studio.core.atomic import atomic_write_bytes
from unet_studio.core.errors import ModelFileError
from unet_studio.models.config import ModelConfig
from unet_studio.models.package_checkpoint import is_bioimageio_package, package_payload
from unet_studio.models.registry import build_model

FORMAT = "unet-studio-checkpoint"
FORMAT_VERSION = 2  # 2: U-Net / Attention U-Net weights under named Down/Up blocks (version 1 is renamed on load)
DEFAULT_NORMALIZATION = {"method": "percentile", "low": 0.5, "high": 99.5}
_LOAD_FAILURES = (RuntimeError, EOFError, KeyError, IndexError, ValueError, TypeError, AttributeError,
                  UnicodeDecodeError, OSError, struct.error, MemoryError, OverflowError, RecursionError)


def to_plain(value: Any) -> Any:
    """Convert to what weights_only loading accepts: dict/list/str/int/float/bool/None (and tensors)."""
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if hasattr(value, "to_dict"):
        return to_plain(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_plain(dataclasses.asdict(value))
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint (plain data only)")


def _class_dicts(classes: Any) -> list[dict[str, Any]]:
    """Classes as [{value, name, color}] from ClassInfo objects or dicts."""
    plain = to_plain(list(classes))
    return [{"value": c["value"], "name": c["name"], "color": c.get("color")} for c in plain]


def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Weights as contiguous CPU tensors, floating point ones as float32."""
    state = {}
    for key, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu")
        if tensor.is_floating_point():
            tensor = tensor.float()
        state[key] = tensor.contiguous().clone()
    return state


def save_checkpoint(path: str | Path, model: nn.Module, model_config: ModelConfig, classes: Any,
                    normalization: dict | None, history: dict, train_config: Any, interrupted: bool = False,
                    extra: dict | None = None, *, threshold: float | None = None,
                    metrics: dict | None = None, state_dict: dict | None = None) -> Path:
    """Write the checkpoint atomically; `state_dict` (from cpu_state_dict) overrides the model's current weights.
    `extra` holds any further plain data under the key "extra"."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": to_plain(model_config),
        "classes": _class_dicts(classes),
        "normalization": to_plain(normalization or DEFAULT_NORMALIZATION),
        "state_dict": state_dict if state_dict is not None else cpu_state_dict(model),
        "history": to_plain(history),
        "train_config": to_plain(train_config),
        "interrupted": bool(interrupted),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "threshold": None if threshold is None else float(threshold),
        "metrics": to_plain(metrics or {}),
        "extra": to_plain(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # serialised first: torch.save reports a full disk as a bare RuntimeError
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getbuffer())
    return path


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: plain data plus CPU weights; build_model() gives the network ready for inference."""

    path: Path
    model_config: ModelConfig
    classes: list[dict[str, Any]]
    normalization: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    history: dict[str, Any]
    train_config: dict[str, Any]
    interrupted: bool
    created: str
    threshold: float | None
    metrics: dict[str, Any]
    extra: dict[str, Any]
    format_version: int = FORMAT_VERSION

    def build_model(self) -> nn.Module:
        """The network in eval mode on the CPU with these weights."""
        model = build_model(self.model_config)
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as error:
            first = str(error).splitlines()[0]
            raise ModelFileError(self.path, f"weights do not fit the model settings ({first})") from error
        return model.eval()


def _read_payload(path: Path) -> Any:
    if not path.is_file():
        raise ModelFileError(path, "file not found" if not path.exists() else "not a file")
    if is_bioimageio_package(path):
        return package_payload(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ModelFileError(path, "refused: holds objects other than plain data and weights "
                                   "(not a UNet Studio checkpoint, or unsafe)") from error
    except _LOAD_FAILURES as error:
        raise ModelFileError(path, f"not a readable checkpoint ({type(error).__name__}: corrupt or "
                                   "not a torch file)") from error


_V1_UNET_PREFIXES = (
    (re.compile(r"^encoders\.0\."), "inc."),
    (re.compile(r"^encoders\.(\d+)\."), lambda m: f"downs.{int(m.group(1)) - 1}.conv."),
    (re.compile(r"^upsamplers\.(\d+)\."), r"ups.\1.up."),
    (re.compile(r"^gates\.(\d+)\."), r"ups.\1.gate."),
    (re.compile(r"^decoders\.(\d+)\."), r"ups.\1.conv."),
)


def upgrade_state_dict(state_dict: dict[str, Any], arch: str, version: int) -> dict[str, Any]:
    """Weights of an older format under today's names: version 1 U-Net / Attention U-Net kept encoders,
    upsamplers, gates and decoders in flat lists, version 2 in the named blocks inc, downs and ups."""
    if version >= 2 or arch not in ("unet", "attention-unet"):
        return state_dict
    renamed = {}
    for key, value in state_dict.items():
        for pattern, replacement in _V1_UNET_PREFIXES:
            new_key, count = pattern.subn(replacement, key, count=1)
            if count:
                key = new_key
                break
        renamed[key] = value
    return renamed


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint; any problem raises ModelFileError naming the file."""
    path = Path(path)
    payload = _read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(path, "not a UNet Studio checkpoint (format field missing)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(path, f"checkpoint format version {version} is newer than this app reads "
                                   f"({FORMAT_VERSION}); update UNet Studio")
    try:
        model_config = ModelConfig.from_dict(payload["model_config"], source=str(path))
        return Checkpoint(
            path=path, model_config=model_config, classes=list(payload["classes"]),
            normalization=dict(payload.get("normalization") or DEFAULT_NORMALIZATION),
            state_dict=upgrade_state_dict(dict(payload["state_dict"]), model_config.arch, version),
            history=dict(payload.get("history") or {}),
            train_config=dict(payload.get("train_config") or {}), interrupted=bool(payload.get("interrupted")),
            created=str(payload.get("created", "")), threshold=payload.get("threshold"),
            metrics=dict(payload.get("metrics") or {}), extra=dict(payload.get("extra") or {}),
            format_version=version,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(path, f"checkpoint is incomplete or damaged ({type(error).__name__}: "
                                   f"{str(error).splitlines()[0] if str(error) else 'missing field'})") from error
