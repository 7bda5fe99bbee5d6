"""Prediction on a Dask LocalCluster: the same bytes as the local loop; a bad image reported, the rest written.

The library tests run the cluster's workers as threads (processes=False): on the shared 2-core machine
worker processes cost seconds each to start. The CLI test runs the real `--dask` path, with processes.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
import torch

from tests.cli.helpers import CLASSES, cli_command, cli_env, error_lines, run_cli
from tests.conftest import make_blobs
from unet_studio.export.predicted_files import FileOptions, predict_file
from unet_studio.inference.model_files import load_predictor
from unet_studio.models.checkpoint import save_checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.models.registry import build_model

pytest.importorskip("distributed", reason="dask.distributed is not installed (the 'scale' extra)")
from unet_studio.inference.dask_predict import dask_client, predict_on_cluster, torch_threads_per_worker  # noqa: E402


@pytest.fixture
def model(tmp_path) -> Path:
    """A random tiny U-Net thresholded at the median of its p(object) on a blob image: its masks are mixed,
    so any difference in the numbers shows in the bytes."""
    torch.manual_seed(3)
    config = ModelConfig(depth=2, base_channels=4)
    network = build_model(config)
    path = save_checkpoint(tmp_path / "model.pt", network, config, CLASSES, None, {}, {})
    probabilities = load_predictor(path, device="cpu").predict(make_blobs((64, 64), seed=9)[0]).probabilities
    median = float(np.median(probabilities[1]))
    return save_checkpoint(path, network, config, CLASSES, None, {}, {}, threshold=median)


@pytest.fixture
def images(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"cell_{i}.png"), make_blobs((48 + 8 * i, 64), seed=i)[0])
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def suffix(options: FileOptions) -> str:
    return ".tif" if options.instances else ".png"


def predict_locally(model: Path, images: Path, out: Path, options: FileOptions) -> None:
    out.mkdir()
    predictor = load_predictor(model, device="cpu")
    for path in sorted(images.iterdir()):
        assert predict_file(predictor, path, out / f"{path.stem}{suffix(options)}", options) is None


def predict_on_dask(model: Path, images: Path, out: Path, options: FileOptions, workers: int = 2) -> list:
    out.mkdir()
    tasks = [(path, out / f"{path.stem}{suffix(options)}") for path in sorted(images.iterdir())]
    with dask_client(None, workers, processes=False) as client:
        assert len(client.scheduler_info()["workers"]) == workers
        return list(predict_on_cluster(client, model, predict_file, tasks, options, device="cpu", torch_threads=1))


@pytest.mark.slow
@pytest.mark.parametrize("options", [FileOptions(), FileOptions(min_size=5, fill_holes=True),
                                     FileOptions(instances=True, min_size=3)])
def test_local_cluster_writes_the_bytes_of_local_prediction(tmp_path, model, images, options):
    predict_locally(model, images, tmp_path / "local", options)
    results = predict_on_dask(model, images, tmp_path / "dask", options)
    assert [r.problem for r in results] == [None] * 6
    assert sorted(r.path.name for r in results) == sorted(p.name for p in images.iterdir())
    local = digests(tmp_path / "local")
    assert len(local) == 6 and digests(tmp_path / "dask") == local
    masks = [tifffile.imread(p) if options.instances else cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
             for p in (tmp_path / "local").iterdir()]
    assert any(0 < np.count_nonzero(m) < m.size for m in masks)  # mixed: the comparison is not of blank files


@pytest.mark.slow
def test_a_bad_image_is_one_line_and_the_others_are_written(tmp_path, model, images):
    (images / "broken.png").write_bytes(b"not a png at all")
    results = predict_on_dask(model, images, tmp_path / "out", FileOptions())
    problems = [r.problem for r in results if r.problem is not None]
    assert len(problems) == 1 and "broken.png" in problems[0] and "\n" not in problems[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"cell_{i}.png" for i in range(6)]


def flaky_once(predictor, path: Path, target: Path, options: FileOptions) -> str | None:
    """A job whose first try on each image fails as a file system hiccup would; the retry writes it."""
    marker = target.with_suffix(".tried")
    if not marker.exists():
        marker.touch()
        raise OSError(f"{path}: stale file handle")
    return predict_file(predictor, path, target, options)


def always_fails(predictor, path: Path, target: Path, options: FileOptions) -> str | None:
    raise OSError(f"{path}: disk gone\nsecond line of detail")


@pytest.mark.slow
def test_a_transient_failure_is_retried_and_a_lasting_one_reported_in_one_line(tmp_path, model, images):
    tasks = [(path, tmp_path / f"{path.stem}.png") for path in sorted(images.iterdir())[:3]]
    with dask_client(None, 2, processes=False) as client:
        retried = list(predict_on_cluster(client, model, flaky_once, tasks, FileOptions(), device="cpu"))
        assert [r.problem for r in retried] == [None] * 3 and all(target.is_file() for _, target in tasks)
        failed = list(predict_on_cluster(client, model, always_fails, tasks[:1], FileOptions(), device="cpu",
                                         retries=1))
    assert len(failed) == 1 and failed[0].problem.endswith("failed on the cluster after 2 tries (OSError: "
                                                           f"{tasks[0][0]}: disk gone)")


def test_torch_threads_share_the_cores_out():
    assert torch_threads_per_worker(2, cores=16) == 8
    assert torch_threads_per_worker(3, cores=2) == 1
    assert torch_threads_per_worker(0, cores=4) == 4


@pytest.mark.slow
def test_cli_predict_dask_reports_the_bad_image_and_exits_non_zero(tmp_path, model, images):
    (images / "broken.png").write_bytes(b"not a png at all")
    local, out = tmp_path / "local", tmp_path / "out"
    assert run_cli("predict", "--model", model, "--images", images, "--out", local, "--device", "cpu").returncode == 1
    result = run_cli("predict", "--model", model, "--images", images, "--out", out, "--device", "cpu",
                     "--dask", "--dask-workers", "1")
    assert result.returncode == 1, result.stderr
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and "broken.png" in errors[0] and "Traceback" not in result.stderr, result.stderr
    assert "dask: 1 worker(s)" in result.stderr and "wrote 6 mask file(s)" in result.stderr
    assert digests(out) == digests(local)


def test_cli_refuses_an_unreachable_scheduler_in_one_line(tmp_path, model, images):
    command = cli_command("predict", "--model", model, "--images", images, "--out", tmp_path / "out", "--device",
                          "cpu", "--dask", "tcp://127.0.0.1:9")
    env = {**cli_env(), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    errors = error_lines(result.stderr)
    assert result.returncode == 2 and len(errors) == 1 and "127.0.0.1:9" in errors[0], result.stderr
