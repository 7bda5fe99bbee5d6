"""The spec 0.5 ModelDescr of a UNet Studio package, from bioimageio.spec's own classes (which validate it)."""

from __future__ import annotations

import getpass
from pathlib import Path

import torch
from bioimageio.spec.model.v0_5 import (
    ArchitectureFromLibraryDescr, Author, AxisId, BatchAxis, ChannelAxis, CiteEntry, ClipDescr, ClipKwargs, Config,
    Doi, FileDescr, Identifier, InputTensorDescr, IntervalOrRatioDataDescr, LicenseId, ModelDescr,
    OnnxWeightsDescr, OutputTensorDescr, ParameterizedSize, PytorchStateDictWeightsDescr, ScaleRangeDescr,
    ScaleRangeKwargs, SizeReference, SpaceInputAxis, SpaceOutputAxisWithHalo, TensorId, TorchscriptWeightsDescr,
    Version, WeightsDescr,
)

from unet_studio import __version__
from unet_studio.export.bioimageio_docs import UNET_PAPER
from unet_studio.export.model_export import ONNX_OPSET
from unet_studio.models.checkpoint import Checkpoint
from unet_studio.models.config import ARCH_TITLES

NETWORK_MODULE = "unet_studio.export.bioimageio_network"
NETWORK_CALLABLE = "StudioProbabilities"
TAGS = ("unet-studio", "u-net", "segmentation", "2d", "pytorch", "torchscript", "onnx", "microscopy")


def default_author() -> str:
    """The login name, as the default author (`--author` overrides it)."""
    try:
        return getpass.getuser() or "UNet Studio user"
    except (KeyError, OSError):
        return "UNet Studio user"


def _torch_version() -> Version:
    return Version(torch.__version__.split("+")[0])


def _inputs(checkpoint: Checkpoint, minimum: int, step: int, test_input: Path) -> InputTensorDescr:
    config, norm = checkpoint.model_config, checkpoint.normalization
    space = ParameterizedSize(min=minimum, step=step)
    return InputTensorDescr(
        id=TensorId("raw"), description="the image, in its own intensities (scaled by the pre-processing)",
        axes=[BatchAxis(), ChannelAxis(channel_names=[Identifier(f"channel{c}") for c in range(config.in_channels)]),
              SpaceInputAxis(id=AxisId("y"), size=space), SpaceInputAxis(id=AxisId("x"), size=space)],
        test_tensor=FileDescr(source=test_input), data=IntervalOrRatioDataDescr(type="float32"),
        preprocessing=[
            ScaleRangeDescr(kwargs=ScaleRangeKwargs(axes=(AxisId("y"), AxisId("x")),
                                                    min_percentile=float(norm.get("low", 0.5)),
                                                    max_percentile=float(norm.get("high", 99.5)))),
            ClipDescr(kwargs=ClipKwargs(min=-0.5, max=1.5)),
        ],
    )


def _outputs(channel_names: list[str], halo: int, test_output: Path) -> OutputTensorDescr:
    def space(axis: str) -> SpaceOutputAxisWithHalo:
        return SpaceOutputAxisWithHalo(id=AxisId(axis), halo=halo,
                                       size=SizeReference(tensor_id=TensorId("raw"), axis_id=AxisId(axis)))

    return OutputTensorDescr(
        id=TensorId("probabilities"), description="softmax class probabilities; channel 0 is background",
        axes=[BatchAxis(), ChannelAxis(channel_names=[Identifier(n) for n in channel_names]), space("y"), space("x")],
        test_tensor=FileDescr(source=test_output), data=IntervalOrRatioDataDescr(type="float32", range=(0.0, 1.0)),
    )


def _weights(checkpoint: Checkpoint, files: dict[str, Path]) -> WeightsDescr:
    version = _torch_version()
    converted = "traced from the pytorch_state_dict weights by UNet Studio and checked against them (<= 1e-4)"
    return WeightsDescr(
        pytorch_state_dict=PytorchStateDictWeightsDescr(
            source=files["state_dict"], pytorch_version=version,
            architecture=ArchitectureFromLibraryDescr(callable=Identifier(NETWORK_CALLABLE), import_from=NETWORK_MODULE,
                                                      kwargs=checkpoint.model_config.to_dict()),
            comment=f"the weights UNet Studio {__version__} trained; needs `pip install unet-studio`"),
        torchscript=TorchscriptWeightsDescr(source=files["torchscript"], pytorch_version=version,
                                            parent="pytorch_state_dict", comment=converted),
        onnx=OnnxWeightsDescr(source=files["onnx"], opset_version=ONNX_OPSET, parent="pytorch_state_dict",
                              comment=converted),
    )


def model_description(checkpoint: Checkpoint, options, name: str, description: str, files: dict[str, Path],
                      card: Path, sizes: tuple[int, int, int], training: list[tuple[str, str]],
                      channel_names: list[str]) -> ModelDescr:
    """The ModelDescr; pydantic.ValidationError when the spec refuses a field (name, licence...)."""
    halo, minimum, step = sizes
    config = checkpoint.model_config
    try:
        licence = LicenseId(options.license)
    except ValueError:
        raise ValueError(f"licence {options.license!r} is not an SPDX licence id (e.g. CC-BY-4.0, MIT, "
                         "BSD-3-Clause)") from None
    authors = [Author(name=author) for author in (options.authors or (default_author(),))]
    studio = {"version": __version__, "model_config": config.to_dict(), "classes": checkpoint.classes,
              "normalization": checkpoint.normalization, "threshold": checkpoint.threshold,
              "training_images": [{"name": n, "sha256": s} for n, s in training]}
    return ModelDescr(
        name=name, description=description, authors=authors, license=licence,
        cite=[CiteEntry(text=UNET_PAPER[0], doi=Doi(UNET_PAPER[1]))],
        documentation=FileDescr(source=files["readme"]), covers=[FileDescr(source=files["cover"])], attachments=[FileDescr(source=card)],
        tags=list(TAGS), inputs=[_inputs(checkpoint, minimum, step, files["test_input"])],
        outputs=[_outputs(channel_names, halo, files["test_output"])], weights=_weights(checkpoint, files),
        config=Config(bioimageio={"architecture_type": ARCH_TITLES.get(config.arch, config.arch),
                                  "task": "semantic segmentation"},
                      unet_studio=studio),
    )
