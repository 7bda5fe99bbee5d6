"""bioimage.io packages: an exported tiny model passes `bioimageio test` (bioimageio.core, the python API of
the same test), predicts through its own weights and processing as the checkpoint does, fine-tunes, and a
package from elsewhere predicts but says in one line that it cannot train."""

import json
import zipfile

import numpy as np
import pytest
import tifffile
import torch

from unet_studio.cli.main import main
from unet_studio.core.checksums import file_sha256
from unet_studio.core.errors import StudioError
from unet_studio.core.project import Project
from unet_studio.export.bioimageio import PackageOptions, export_bioimageio
from unet_studio.export.card import model_card
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.model_files import load_predictor
from unet_studio.inference.package_model import PackagePredictor
from unet_studio.inference.predictor import Predictor
from unet_studio.models.checkpoint import load_checkpoint, save_checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.models.package_checkpoint import PREDICT_ONLY_ARCH, PredictOnlyModelError
from unet_studio.models.registry import build_model
from unet_studio.training.api import iter_train_folders, register_model
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import TrainingFinished

bioimageio_core = pytest.importorskip("bioimageio.core", reason="bioimageio.core (dev extra) is not installed")
from bioimageio.spec import load_model_description  # noqa: E402

# bioimageio.spec's packaging leaves its file handles to the garbage collector (ResourceWarning, not ours).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

CLASSES = [{"value": 1, "name": "background", "color": "#000000"},
           {"value": 2, "name": "nucleus", "color": "#ff0000"}]
TOLERANCE = 1e-4  # probabilities of the package's weights vs the checkpoint's torch model, both fp32


def tiny_checkpoint(path, images=()):
    """A two-class 'same'-padded U-Net (depth 2, 4 channels: ~10k weights) with non-trivial batch norms."""
    torch.manual_seed(0)
    config = ModelConfig(in_channels=1, num_classes=2, depth=2, base_channels=4)
    model = build_model(config)
    with torch.no_grad():
        for buffer in model.buffers():
            if buffer.is_floating_point():
                buffer.uniform_(0.5, 1.5)
    history = {"images": list(images), "validation_images": ["val.tif"], "val_dice": [0.5, 0.7]}
    return save_checkpoint(path, model, config, CLASSES, None, history, {"epochs": 2},
                           metrics={"mean_dice": 0.7, "dice/nucleus": 0.7})


def blobs(seed=0, shape=(100, 124)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = rng.normal(40, 5, shape)
    for _ in range(6):
        cy, cx = rng.uniform(10, shape[0] - 10), rng.uniform(10, shape[1] - 10)
        image += 150 * (((yy - cy) ** 2 + (xx - cx) ** 2) < 60)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("package")
    checkpoint = tiny_checkpoint(folder / "tiny.pt", [{"name": "a.tif", "sha256": "ab" * 32}])
    result = export_bioimageio(checkpoint, folder / "tiny.zip", PackageOptions(authors=("Ada Lovelace",)))
    return checkpoint, result


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")  # bioimageio.core's own load
def test_exported_package_passes_bioimageio_test(package):
    _, result = package
    summary = bioimageio_core.test_model(str(result.path))
    failed = [(d.name, [e.msg for e in d.errors][:2]) for d in summary.details if d.status != "passed"]
    assert summary.status == "passed", failed
    tested = {d.name for d in summary.details}
    for fmt in ("onnx", "torchscript", "pytorch_state_dict"):
        assert f"Reproduce test outputs from test inputs ({fmt})" in tested


def test_package_describes_the_model_in_the_spec_terms(package):
    checkpoint, result = package
    assert not result.real_test_image and result.test_image == "synthetic"
    descr = load_model_description(result.path, format_version="latest", perform_io_checks=False)
    assert descr.format_version.startswith("0.5") and [a.name for a in descr.authors] == ["Ada Lovelace"]
    assert str(descr.license) == "CC-BY-4.0" and descr.cite[0].doi == "10.1007/978-3-319-24574-4_28"
    weights = descr.weights
    assert weights.pytorch_state_dict.parent is None
    assert weights.torchscript.parent == weights.onnx.parent == "pytorch_state_dict"
    steps = [(p.id, p.kwargs) for p in descr.inputs[0].preprocessing if p.id != "ensure_dtype"]
    assert [s[0] for s in steps] == ["scale_range", "clip"]
    assert (steps[0][1].min_percentile, steps[0][1].max_percentile) == (0.5, 99.5)
    assert (steps[1][1].min, steps[1][1].max) == (-0.5, 1.5)
    assert {a.halo for a in descr.outputs[0].axes if hasattr(a, "halo")} == {32}
    studio = descr.config.model_dump(mode="json")["unet_studio"]
    assert studio["training_images"] == [{"name": "a.tif", "sha256": "ab" * 32}]
    with zipfile.ZipFile(result.path) as archive:
        readme = archive.read("README.md").decode()
        names = set(archive.namelist())
    assert "## Validation" in readme and "mean_dice | 0.7000" in readme and "synthetic image" in readme
    assert {"cover.png", "unet_studio.json", "weights.onnx", "weights.torchscript.pt", "weights.pt"} <= names


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_package_predicts_what_the_checkpoint_predicts(package, backend):
    checkpoint, result = package
    image = blobs(1)
    reference = Predictor.from_checkpoint(checkpoint, config=PredictConfig(precision="fp32", backend="torch"))
    expected = reference.predict(image)
    predictor = load_predictor(result.path, config=PredictConfig(backend=backend))
    assert isinstance(predictor, PackagePredictor)
    assert predictor.engine == backend
    got = predictor.predict(image, instances=True)
    assert np.abs(got.probabilities - expected.probabilities).max() <= TOLERANCE
    np.testing.assert_array_equal(got.mask, expected.mask)
    assert got.instances.shape == image.shape


def test_our_package_loads_as_its_checkpoint_and_fine_tunes(package, tmp_path):
    checkpoint, result = package
    original, loaded = load_checkpoint(checkpoint), load_checkpoint(result.path)
    assert loaded.model_config == original.model_config and loaded.classes == original.classes
    assert all(torch.equal(loaded.state_dict[k], v) for k, v in original.state_dict.items())
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    image = blobs(2, (64, 64))
    tifffile.imwrite(tmp_path / "images" / "a.tif", image)
    tifffile.imwrite(tmp_path / "labels" / "a.tif", (image > 100).astype(np.uint8) + 1)
    config = TrainConfig(max_steps=2, batch_size=1, patch_size=64, steps_per_epoch=2, val_fraction=0.0, amp=False)
    events = list(iter_train_folders(tmp_path / "images", tmp_path / "labels", tmp_path / "tuned.pt",
                                     train_config=config, init=result.path))
    assert isinstance(events[-1], TrainingFinished) and not events[-1].interrupted
    tuned = load_checkpoint(tmp_path / "tuned.pt")
    assert tuned.model_config == original.model_config
    # the card of a model trained with --images/--labels names its training files (it was empty before)
    assert model_card(tuned)["training_data"] == [{"file": "a.tif", "sha256": file_sha256(tmp_path / "images" / "a.tif")}]


def _foreign(package_path, target):
    """The package as someone else's: without UNet Studio's own checkpoint data."""
    with zipfile.ZipFile(package_path) as source, zipfile.ZipFile(target, "w") as out:
        for name in source.namelist():
            if name != "unet_studio.json":
                out.writestr(name, source.read(name))
    return target


def test_foreign_package_predicts_but_cannot_train(package, tmp_path):
    _, result = package
    foreign = _foreign(result.path, tmp_path / "zoo.zip")
    prediction = load_predictor(foreign).predict(blobs(3))
    assert prediction.mask.shape == (100, 124)
    with pytest.raises(PredictOnlyModelError, match=r"zoo\.zip: a bioimage\.io package not made by UNet "
                                                    r"Studio: it can predict .* but not be trained"):
        load_checkpoint(foreign)
    project = Project.create(tmp_path / "project")
    register_model(project, foreign, "zoo", activate=True)
    assert project.models[0].architecture == PREDICT_ONLY_ARCH
    assert project.model_path(project.models[0].id).suffix == ".zip"


def test_broken_package_is_one_line(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("rdf.yaml", "type: model\nformat_version: 0.5.4\nname: broken\n")
    with pytest.raises(StudioError, match=r"bad\.zip: cannot run this bioimage\.io package") as raised:
        load_predictor(bad)
    assert "\n" not in str(raised.value)


def test_cli_exports_a_package_from_a_project_image_and_predicts_with_it(tmp_path, capsys):
    image = blobs(4, (90, 96))
    tifffile.imwrite(tmp_path / "cells.tif", image)
    project = Project.create(tmp_path / "project", image_paths=[tmp_path / "cells.tif"])
    checkpoint = tiny_checkpoint(project.new_model_path(),
                                 [{"name": "cells.tif", "sha256": file_sha256(tmp_path / "cells.tif")}])
    out = tmp_path / "exported.zip"
    assert main(["export-model", "--model", str(checkpoint), "--format", "bioimageio", "--out", str(out),
                 "--author", "Grace Hopper", "--name", "Tiny nuclei"]) == 0
    assert "test tensors from a crop of cells.tif" in capsys.readouterr().err
    with zipfile.ZipFile(out) as archive:
        test_input = np.load(archive.open("test_input.npy"))
        card = json.loads(archive.read("unet_studio.json"))
    # sides are valid input sizes (68 + n * 4): a centre crop of the real training image, raw intensities
    np.testing.assert_array_equal(test_input[0, 0], image[1:89, :96].astype(np.float32))
    assert card["training_data"] == [{"file": "cells.tif", "sha256": file_sha256(tmp_path / "cells.tif")}]
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "b.tif", blobs(5))
    assert main(["predict", "--model", str(out), "--images", str(tmp_path / "in"), "--out",
                 str(tmp_path / "pred")]) == 0
    assert (tmp_path / "pred" / "b.png").is_file()


def test_refused_packages_are_one_line_and_write_nothing(package, tmp_path):
    checkpoint, _ = package
    with pytest.raises(StudioError, match=r"x\.tar: a bioimage\.io package is a \.zip"):
        export_bioimageio(checkpoint, tmp_path / "x.tar")
    with pytest.raises(StudioError, match=r"x\.zip: bioimage\.io refused the description \(licence 'NOPE' is not "
                                          r"an SPDX licence id") as raised:
        export_bioimageio(checkpoint, tmp_path / "x.zip", PackageOptions(license="NOPE"))
    assert "\n" not in str(raised.value) and list(tmp_path.iterdir()) == []
