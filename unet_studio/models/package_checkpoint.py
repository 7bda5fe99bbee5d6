"""Checkpoints inside bioimage.io packages: a package UNet Studio exported carries the checkpoint's plain data
(`unet_studio.json`) and its state dict, so it loads as a checkpoint (and fine-tunes); any other package can
predict (through `inference.package_model`) but not train, and says so in one line."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from unet_studio.core.errors import ModelFileError

PACKAGE_CARD = "unet_studio.json"
DESCRIPTION_FILES = ("rdf.yaml", "bioimageio.yaml")
PREDICT_ONLY_ARCH = "bioimage.io"  # the architecture a project records for a package it can only predict with


class PredictOnlyModelError(ModelFileError):
    """A model file that predicts but cannot be trained or fine-tuned here (a foreign bioimage.io package)."""


def is_bioimageio_package(path: str | Path) -> bool:
    """A zip holding rdf.yaml / bioimageio.yaml at its top (a torch .pt file is a zip too, without them)."""
    path = Path(path)
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    return any("/" not in name and name.endswith(DESCRIPTION_FILES) for name in names)


def package_payload(path: str | Path) -> dict[str, Any]:
    """The checkpoint payload (as `torch.load` of a .pt gives it) of a package UNet Studio exported."""
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if PACKAGE_CARD not in names:
            raise PredictOnlyModelError(path, "a bioimage.io package not made by UNet Studio: it can predict "
                                              "(its TorchScript or ONNX weights) but not be trained or fine-tuned here")
        try:
            card = json.loads(archive.read(PACKAGE_CARD).decode("utf-8"))
            weights = card["state_dict"]
            state = torch.load(io.BytesIO(archive.read(weights["file"])), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            raise ModelFileError(path, "refused: its state dict holds objects other than weights") from error
        except (KeyError, TypeError, ValueError, RuntimeError, zipfile.BadZipFile) as error:
            raise ModelFileError(path, f"damaged UNet Studio package ({type(error).__name__}: "
                                       f"{str(error).splitlines()[0] if str(error) else 'missing entry'})") from error
    prefix = str(weights.get("prefix", ""))
    if not isinstance(state, dict) or not all(isinstance(key, str) and key.startswith(prefix) for key in state):
        raise ModelFileError(path, f"damaged UNet Studio package (weights not under {prefix!r})")
    payload = dict(card["checkpoint"])
    payload.update(format="unet-studio-checkpoint", format_version=2,
                   state_dict={key[len(prefix):]: value for key, value in state.items()})
    payload["extra"] = {**(payload.get("extra") or {}), "bioimageio_package": path.name}
    return payload
