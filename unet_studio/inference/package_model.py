"""bioimage.io model packages (spec 0.5, or older ones bioimageio.spec converts) as predictors.

`read_package(path)` checks that the package is one this app can run (one 2-D input and output with a channel
axis, TorchScript or ONNX weights, supported processing steps) and reads it; `PackageTiles` is its network as
a tile function (each tile padded to a size the package accepts); `PackagePredictor` predicts raw images the
way `Predictor` does: the package's pre-processing on the whole image, overlap tiles (at least twice the
package's halo), its post-processing per tile, then our mask and instance post-processing.
"""

from __future__ import annotations

import io
import threading
import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from unet_studio.core.errors import ModelFileError, StudioError
from unet_studio.inference import package_processing as processing
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.postprocess import SEED_HEIGHT, mask_to_instances, probabilities_to_mask
from unet_studio.inference.predictor import MIN_INSTANCE_SIZE, Prediction
from unet_studio.inference.tile_functions import logits_to_probabilities
from unet_studio.inference.tiling import Progress, predict_probabilities

ENGINES = {"torchscript": "torch", "onnx": "onnxruntime"}


@dataclass(frozen=True)
class PackageSpec:
    """What running a package needs, read from its rdf.yaml (axis order as the package wants it)."""

    path: Path
    name: str
    input_axes: tuple[str, ...]
    output_axes: tuple[str, ...]
    in_channels: int
    classes: tuple[dict, ...]
    minimum: int
    step: int  # 0: the spatial size is fixed to `minimum`
    halo: int
    preprocessing: tuple[processing.Step, ...]
    postprocessing: tuple[processing.Step, ...]
    probabilities: bool  # the output is probabilities already (else logits)
    weights: dict[str, str]  # "torchscript" | "onnx" -> file name in the zip
    threshold: float | None


def _steps(descriptions) -> tuple[processing.Step, ...]:
    return tuple((str(p.id), p.kwargs.model_dump(mode="json")) for p in descriptions)


def _space_size(axis) -> tuple[int, int]:
    size = axis.size
    if isinstance(size, int):
        return size, 0
    if hasattr(size, "step"):
        return int(size.min), int(size.step)
    raise ValueError(f"input axis {axis.id} has a size this app cannot choose ({type(size).__name__})")


def _describe(path: Path, descr) -> PackageSpec:
    if len(descr.inputs) != 1 or len(descr.outputs) != 1:
        raise ValueError(f"{len(descr.inputs)} inputs and {len(descr.outputs)} outputs (this app runs one of each)")
    inp, out = descr.inputs[0], descr.outputs[0]
    in_axes = tuple(str(a.id) if a.type not in ("batch", "channel") else a.type for a in inp.axes)
    out_axes = tuple(str(a.id) if a.type not in ("batch", "channel") else a.type for a in out.axes)
    for axes in (in_axes, out_axes):
        if sorted(a for a in axes if a != "batch") != ["channel", "x", "y"]:
            raise ValueError(f"axes {', '.join(axes)}: this app runs 2-D images with a channel axis")
    space = [a for a in inp.axes if str(a.id) in ("y", "x")]
    sizes = {_space_size(a) for a in space}
    if len(sizes) != 1:
        raise ValueError("y and x take different sizes")
    (minimum, step), = sizes
    channel = next(a for a in inp.axes if a.type == "channel")
    out_channel = next(a for a in out.axes if a.type == "channel")
    weights = {fmt: getattr(descr.weights, fmt) for fmt in ENGINES if getattr(descr.weights, fmt) is not None}
    if not weights:
        raise ValueError("no TorchScript or ONNX weights (the formats this app runs)")
    pre, post = _steps(inp.preprocessing), _steps(out.postprocessing)
    processing.check_steps(pre, processing.PRE_STEPS, "pre-processing")
    processing.check_steps(post, processing.POST_STEPS, "post-processing")
    data_range = getattr(out.data, "range", (None, None))
    probabilities = any(name in ("softmax", "sigmoid") for name, _ in post) or (
        data_range[0] is not None and data_range[0] >= 0 and data_range[1] is not None and data_range[1] <= 1)
    studio = (descr.config.model_dump(mode="json") or {}).get("unet_studio") or {}
    names = list(out_channel.channel_names)
    classes = studio.get("classes") or [{"value": i + 1, "name": str(n), "color": None} for i, n in enumerate(names)]
    return PackageSpec(
        path=path, name=str(descr.name), input_axes=in_axes, output_axes=out_axes, in_channels=len(channel.channel_names),
        classes=tuple(classes), minimum=minimum, step=step,
        halo=max((int(getattr(a, "halo", 0) or 0) for a in out.axes), default=0), preprocessing=pre,
        postprocessing=post, probabilities=probabilities,
        weights={fmt: Path(str(entry.source)).name for fmt, entry in weights.items()},
        threshold=studio.get("threshold"),
    )


def read_package(path: str | Path) -> PackageSpec:
    """The package's spec; a package this app cannot run is one ModelFileError line saying why."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, "file not found" if not path.exists() else "not a file")
    try:
        from bioimageio.spec import load_model_description

        descr = load_model_description(path, format_version="latest", perform_io_checks=False)
        return _describe(path, descr)
    except ImportError as error:
        raise ModelFileError(path, "reading bioimage.io packages needs bioimageio.spec (pip install "
                                   "bioimageio.spec)") from error
    except (ValueError, AttributeError, KeyError, zipfile.BadZipFile) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(path, f"cannot run this bioimage.io package ({first[:200]})") from error


class PackageTiles:
    """The package's weights as a tile function: (C, h, w) normalised tile -> (K, h, w) probabilities."""

    margin = 0

    def __init__(self, spec: PackageSpec, engine: str):
        self.spec, self.engine = spec, engine
        self.align = max(spec.step, 1)
        with zipfile.ZipFile(spec.path) as archive:
            data = archive.read(spec.weights[engine])
        if engine == "onnx":
            import onnxruntime

            self.session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
            self.input_name = self.session.get_inputs()[0].name
        else:
            with warnings.catch_warnings():  # deprecated upstream, but TorchScript is what the package holds
                warnings.simplefilter("ignore", DeprecationWarning)
                self.module = torch.jit.load(io.BytesIO(data), map_location="cpu").eval()

    def _valid(self, size: int) -> int:
        spec = self.spec
        if spec.step == 0:
            if size > spec.minimum:
                raise StudioError(spec.path, f"tile of {size} px is larger than the package's fixed {spec.minimum}")
            return spec.minimum
        return spec.minimum + max(0, -(-(size - spec.minimum) // spec.step)) * spec.step

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self.engine == "onnx":
            return self.session.run(None, {self.input_name: batch})[0]
        with torch.inference_mode():
            return self.module(torch.from_numpy(batch)).float().numpy()

    def __call__(self, tile: np.ndarray) -> np.ndarray:
        _, height, width = tile.shape
        padded = np.pad(tile, ((0, 0), (0, self._valid(height) - height), (0, self._valid(width) - width)),
                        mode="reflect" if min(height, width) > 1 else "edge")
        order = {"batch": None, "channel": 0, "y": 1, "x": 2}
        batch = padded[None].transpose([0] + [order[a] + 1 for a in self.spec.input_axes if a != "batch"])
        if "batch" not in self.spec.input_axes:
            batch = batch[0]
        output = np.asarray(self._run(np.ascontiguousarray(batch, np.float32)))
        axes = [a for a in self.spec.output_axes if a != "batch"]
        output = output[0] if "batch" in self.spec.output_axes else output
        output = output.transpose([axes.index(a) for a in ("channel", "y", "x")])[:, :height, :width]
        output = processing.postprocess(output, self.spec.postprocessing)
        if not self.spec.probabilities:
            return logits_to_probabilities(torch.from_numpy(np.ascontiguousarray(output))[None])[0].numpy()
        if output.shape[0] == 1:
            return np.concatenate([1.0 - output, output]).astype(np.float32)
        return output


class PackagePredictor:
    """Predicts raw images with a bioimage.io package; `predict` takes what `Predictor.predict` takes."""

    def __init__(self, spec: PackageSpec, config: PredictConfig = PredictConfig()):
        self.spec, self.source = spec, str(spec.path)
        self.classes, self.threshold, self.in_channels = list(spec.classes), spec.threshold, spec.in_channels
        formats = ("onnx", "torchscript") if config.backend != "torch" else ("torchscript", "onnx")
        if config.backend == "onnxruntime" and "onnx" not in spec.weights:
            raise StudioError(spec.path, "ONNX Runtime requested but the package has no ONNX weights")
        fmt = next(f for f in formats if f in spec.weights)
        self.engine, self.engine_reason = ENGINES[fmt], f"the package's {fmt} weights"
        tile = config.tile if spec.step else min(config.tile, spec.minimum)
        overlap = max(config.overlap, 2 * spec.halo) if spec.step else config.overlap
        self.config = replace(config, tile=max(tile, 2 * overlap), overlap=overlap, precision="fp32")
        self.tiles = PackageTiles(spec, fmt)

    @classmethod
    def from_package(cls, path: str | Path, config: PredictConfig | None = None) -> PackagePredictor:
        return cls(read_package(path), config or PredictConfig())

    def predict(self, pixels: np.ndarray, tta: bool | None = None, instances: bool = False,
                min_size: int | None = None, fill_holes: bool = False, stop: threading.Event | None = None,
                progress: Progress | None = None, source: str = "image", seed_height: float = SEED_HEIGHT,
                split_touching: bool = True, seed_level: float | None = None,
                shape_height: float | None = None) -> Prediction | None:
        """Like `Predictor.predict` (whole-image probabilities: packages are not streamed in bands). A package
        has no touching-border output, so `seed_level` and `shape_height` have nothing to act on."""
        pixels = np.asarray(pixels)
        pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
        if pixels.ndim != 3 or pixels.shape[2] != self.in_channels:
            raise StudioError(source, f"image has shape {pixels.shape} but the package {self.spec.path.name} "
                                      f"expects {self.in_channels} channel(s)")
        if min_size is None:
            min_size = MIN_INSTANCE_SIZE if instances else 0
        image = processing.preprocess(pixels.transpose(2, 0, 1), self.spec.preprocessing)
        config = self.config if tta is None else replace(self.config, tta=tta)
        probabilities = predict_probabilities(self.tiles, image, config, stop=stop, progress=progress)
        if probabilities is None:
            return None
        mask = probabilities_to_mask(probabilities, self.threshold, min_size, fill_holes)
        labels = mask_to_instances(mask, probabilities, seed_height, split_touching) if instances else None
        return Prediction(mask, probabilities, labels)
