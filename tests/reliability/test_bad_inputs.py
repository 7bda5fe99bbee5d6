"""Bad input corpus: readers answer correctly or with one line, projects list everything, the CLI goes on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.reliability.bad_inputs import build_corpus
from tests.reliability.read_probe import CALL_LIMIT_S, ROOT, pixel_digest, probe_files
from unet_studio.core.project import Project
from unet_studio.models import ModelConfig, build_model
from unet_studio.models.checkpoint import save_checkpoint

CLASSES = [{"value": 1, "name": "background", "color": "#000000"},
           {"value": 2, "name": "cell", "color": "#ff0000"}]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, build_corpus(folder)


def tiny_checkpoint(path: Path, in_channels: int = 1) -> Path:
    """A small untrained U-Net checkpoint (same padding), enough to drive the CLI end to end."""
    torch.manual_seed(0)
    config = ModelConfig(in_channels=in_channels, num_classes=2, depth=2, base_channels=4)
    return save_checkpoint(path, build_model(config), config, CLASSES, None, {}, {})


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "unet_studio", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_readers_give_the_right_pixels_or_one_line_within_the_limit(corpus):
    folder, expected = corpus
    results = probe_files([folder / name for name in expected])
    assert len(results) == 2 * len(expected)
    for result in results:
        want, where = expected[result["file"]], f"{result['reader']}({result['file']})"
        assert result["outcome"] in ("ok", "refused"), f"{where}: {result}"
        assert result["seconds"] < CALL_LIMIT_S, where
        if result["outcome"] == "refused":
            message = result["message"]
            assert result["file"] in message and "\n" not in message, f"{where}: {message}"
            partial_header = result["reader"] == "image_info"
            assert not want.readable or partial_header, f"{where}: a good file was refused: {message}"
            assert want.readable or want.reason in message, f"{where}: {message!r} lacks {want.reason!r}"
        elif result["reader"] == "read_image":
            assert want.readable, f"{where}: a bad file was read"
            assert result["digest"] == pixel_digest(want.pixels) and result["n_planes"] == want.n_planes, where
        elif want.readable:
            assert result["shape"] == list(want.pixels.shape) and result["n_planes"] == want.n_planes, where
        else:
            assert result["file"].startswith("truncated_"), f"{where}: header of a bad file accepted"


def test_project_add_images_keeps_going_and_lists_every_file(corpus, tmp_path):
    folder, expected = corpus
    project = Project.create(tmp_path / "proj")
    added = project.add_images(sorted(folder / name for name in expected))
    assert sorted(Path(r.path).name for r in added) == sorted(expected)
    reopened = Project.open(tmp_path / "proj")
    sizes = {Path(r.path).name: (r.height, r.width) for r in reopened.images}
    for name, want in expected.items():
        if want.readable:
            assert sizes[name] == want.pixels.shape[:2], name
        elif not name.startswith("truncated_"):
            assert sizes[name] == (None, None), name


def _assert_reports_bad_files(done: subprocess.CompletedProcess, bad: list[str]) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    for name in bad:
        assert sum(name in line for line in error_lines) == 1, f"{name} not named once in:\n{done.stderr}"


def test_cli_predict_reports_each_bad_file_and_writes_the_good_ones(corpus, tmp_path):
    folder, expected = corpus
    model = tiny_checkpoint(tmp_path / "tiny.pt")
    done = run_cli("predict", "--model", model, "--images", folder, "--out", tmp_path / "out", "--device", "cpu")
    grey = [n for n, e in expected.items() if e.readable and e.pixels.shape[2] == 1]
    bad = [n for n, e in expected.items() if not e.readable or e.pixels.shape[2] != 1]
    _assert_reports_bad_files(done, bad)
    for name in grey:
        mask = tmp_path / "out" / f"{Path(name).stem}.png"
        assert mask.is_file(), f"no mask for {name}:\n{done.stderr}"
    assert not any((tmp_path / "out" / f"{Path(n).stem}.png").exists() for n in bad)


def test_cli_evaluate_reports_each_bad_file_and_scores_the_good_ones(corpus, tmp_path):
    folder, expected = corpus
    truth = tmp_path / "truth"
    truth.mkdir()
    good = {n: e for n, e in expected.items()
            if e.readable and e.pixels.shape[2] == 1 and e.n_planes == 1 and e.pixels.dtype.kind == "u"}
    for name in expected:
        (truth / name).write_bytes((folder / name).read_bytes())
    bad = sorted(set(expected) - set(good))
    done = run_cli("evaluate", "--pred", folder, "--truth", truth)
    _assert_reports_bad_files(done, bad)
    assert '"n_images"' in done.stdout and f'"n_images": {len(good)}' in done.stdout, done.stdout
