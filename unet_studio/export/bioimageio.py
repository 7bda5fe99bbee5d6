"""bioimage.io model packages (spec 0.5): a checkpoint as the zip that ilastik, deepImageJ, QuPath and
bioimageio.core run.

The description is built with bioimageio.spec's own classes and packaged by its `save_bioimageio_package`.
The package holds the state dict (the parent weights, architecture `StudioProbabilities` from
`unet_studio.export.bioimageio_network`), TorchScript and ONNX weights traced from it and checked against it,
test tensors, a cover, a README with a Validation section, and `unet_studio.json`: the checkpoint's own plain
data (model config, classes, normalisation, threshold, history), from which `models.package_checkpoint`
rebuilds the checkpoint, so a package of ours can be fine-tuned.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from unet_studio import __version__
from unet_studio.core.atomic import atomic_write_bytes
from unet_studio.core.normalize import normalize_with_range, percentile_range
from unet_studio.export import bioimageio_docs as docs
from unet_studio.export.bioimageio_network import STATE_DICT_PREFIX, probability_network
from unet_studio.export.card import min_input_size, model_card, recorded_training_files
from unet_studio.export.errors import ExportError
from unet_studio.export.model_export import (ONNX_OPSET, check_input, exported_onnx, require_same_padding,
                                             traced_torchscript)
from unet_studio.inference.config import PredictConfig
from unet_studio.models.checkpoint import Checkpoint, load_checkpoint
from unet_studio.models.config import ARCH_TITLES
from unet_studio.models.package_checkpoint import PACKAGE_CARD

DEFAULT_LICENSE = "CC-BY-4.0"
INPUT_ID, OUTPUT_ID = "raw", "probabilities"
FILES = {"state_dict": "weights.pt", "torchscript": "weights.torchscript.pt", "onnx": "weights.onnx",
         "test_input": "test_input.npy", "test_output": "test_output.npy", "cover": "cover.png",
         "readme": "README.md"}


@dataclass(frozen=True)
class PackageOptions:
    """What `export-model --format bioimageio` asks for; None takes the default named in each help text."""

    name: str | None = None
    description: str | None = None
    authors: tuple[str, ...] = ()
    license: str = DEFAULT_LICENSE
    test_image: str | Path | None = None


@dataclass(frozen=True)
class PackageExport:
    path: Path
    test_image: str
    real_test_image: bool


def halo_and_sizes(checkpoint: Checkpoint) -> tuple[int, int, int]:
    """(halo, smallest input side, step). The halo is the context our tiler trusts less at a tile's edge (half
    its default overlap), or the model's own margin if larger; sides step by the pooling multiple and leave
    at least one pixel inside the halo."""
    config = checkpoint.model_config
    step = 2**config.depth
    halo = max(int(getattr(checkpoint.build_model(), "margin", 0)), PredictConfig().overlap // 2)
    minimum = max(min_input_size(checkpoint), step * -(-(2 * halo + 1) // step))
    return halo, minimum, step


def _identifier(text: str, fallback: str) -> str:
    """A spec identifier (letters, digits, underscores; not starting with a digit) from a class name."""
    cleaned = re.sub(r"\W+", "_", str(text)).strip("_").lower()
    return cleaned if cleaned and not cleaned[0].isdigit() else fallback


def _channel_names(classes: list[dict], count: int) -> list[str]:
    names, taken = [], set()
    for index in range(count):
        name = _identifier(classes[index].get("name", "") if index < len(classes) else "", f"class_{index}")
        name = name if name not in taken else f"{name}_{index}"
        taken.add(name)
        names.append(name)
    return names


def _default_name(checkpoint: Checkpoint) -> str:
    arch = ARCH_TITLES.get(checkpoint.model_config.arch, checkpoint.model_config.arch)
    name = re.sub(r"[^A-Za-z0-9_+\- ()]", "-", f"UNet Studio {arch} {checkpoint.path.stem}")
    return name[:64]


def _default_description(checkpoint: Checkpoint, n_images: int) -> str:
    objects = [c.get("name", "?") for c in checkpoint.classes[1:]]
    return (f"Segments {', '.join(objects) or 'objects'} in 2-D microscopy images: a U-Net trained with UNet Studio "
            f"on {n_images} image(s).")


def _tensors(network: torch.nn.Module, checkpoint: Checkpoint, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(test input (1, C, H, W) raw float32, test output (1, K, H, W) probabilities) with our normalisation."""
    norm = checkpoint.normalization
    lo, hi = percentile_range(raw, norm.get("low", 0.5), norm.get("high", 99.5))
    with torch.no_grad():
        output = network(torch.from_numpy(normalize_with_range(raw, lo, hi))[None]).numpy()
    return np.ascontiguousarray(raw.transpose(2, 0, 1)[None].astype(np.float32)), output.astype(np.float32)


def export_bioimageio(checkpoint_path: str | Path, out_path: str | Path,
                      options: PackageOptions = PackageOptions()) -> PackageExport:
    """Write the package zip atomically; a description the spec refuses is one ExportError line."""
    checkpoint, out_path = load_checkpoint(checkpoint_path), Path(out_path)
    require_same_padding(checkpoint)
    if checkpoint.normalization.get("method", "percentile") != "percentile":
        raise ExportError(checkpoint.path, f"normalisation {checkpoint.normalization.get('method')!r} has no "
                                           "bioimage.io pre-processing here")
    if out_path.suffix.lower() != ".zip":
        raise ExportError(out_path, f"a bioimage.io package is a .zip, not {out_path.suffix or 'no suffix'!r}")
    network = probability_network(checkpoint.model_config, checkpoint.state_dict)
    training = recorded_training_files(checkpoint)
    halo, minimum, step = halo_and_sizes(checkpoint)
    test = docs.choose_test_image(checkpoint, training, options.test_image)
    raw = docs.crop_for_test(test.pixels, minimum, step)
    test_input, test_output = _tensors(network, checkpoint, raw)
    with tempfile.TemporaryDirectory(prefix="unet-studio-package-") as folder:
        files = {key: Path(folder) / name for key, name in FILES.items()}
        example, check = torch.zeros(1, checkpoint.model_config.in_channels, minimum, minimum), check_input(checkpoint)
        source = checkpoint.path.name
        torchscript, _ = traced_torchscript(network, example, check, source, out_path)
        onnx_data, _ = exported_onnx(network, example, check, source, out_path, output_name=OUTPUT_ID)
        files["torchscript"].write_bytes(torchscript)
        files["onnx"].write_bytes(onnx_data)
        torch.save(network.state_dict(), files["state_dict"])
        np.save(files["test_input"], test_input)
        np.save(files["test_output"], test_output)
        docs.write_cover(files["cover"], raw, test_output[0], checkpoint.classes)
        name = options.name or _default_name(checkpoint)
        description = options.description or _default_description(checkpoint, len(training))
        files["readme"].write_text(docs.readme(checkpoint, name, description, test, training, halo, minimum, step),
                                   encoding="utf-8")
        card = Path(folder) / PACKAGE_CARD
        card.write_text(json.dumps(_package_card(checkpoint, training), indent=1), encoding="utf-8")
        try:
            descr = _description(checkpoint, options, name, description, files, card, (halo, minimum, step),
                                 training)
            package = _save(descr, Path(folder) / "package.zip")
        except ValueError as error:  # pydantic's ValidationError is one
            raise ExportError(out_path, f"bioimage.io refused the description ({_first_line(error)})") from error
        atomic_write_bytes(out_path, package.read_bytes())
    return PackageExport(out_path, test.source, test.real)


def _package_card(checkpoint: Checkpoint, training: list[tuple[str, str]]) -> dict:
    """The model card plus what rebuilding the checkpoint needs (models.package_checkpoint reads it)."""
    card = model_card(checkpoint, training)
    card["checkpoint"] = {"model_config": checkpoint.model_config.to_dict(), "classes": checkpoint.classes,
                          "normalization": checkpoint.normalization, "history": checkpoint.history,
                          "train_config": checkpoint.train_config, "interrupted": checkpoint.interrupted,
                          "created": checkpoint.created, "threshold": checkpoint.threshold,
                          "metrics": checkpoint.metrics, "extra": checkpoint.extra}
    card["state_dict"] = {"file": FILES["state_dict"], "prefix": STATE_DICT_PREFIX}
    return _json_safe(card)


def _json_safe(value):
    """NaN and infinities (JSON has none) become None, recursively."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _first_line(error: Exception) -> str:
    """pydantic's first complaint as "field: message", else the error's first line."""
    details = getattr(error, "errors", None)
    if callable(details):
        first = details()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg', '')}"[:300] if where else str(first.get("msg", ""))[:300]
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def _save(descr, target: Path) -> Path:
    from bioimageio.spec import save_bioimageio_package

    return Path(save_bioimageio_package(descr, output_path=target))


def _description(checkpoint: Checkpoint, options: PackageOptions, name: str, description: str,
                 files: dict[str, Path], card: Path, sizes: tuple[int, int, int], training: list[tuple[str, str]]):
    """The spec 0.5 ModelDescr, built from bioimageio.spec's classes (imported here: they take a second)."""
    from unet_studio.export.bioimageio_spec import model_description

    return model_description(checkpoint, options, name, description, files, card, sizes, training,
                             channel_names=_channel_names(checkpoint.classes, checkpoint.model_config.num_classes))
