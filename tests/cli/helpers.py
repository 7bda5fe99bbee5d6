"""Running the real `unet-studio` command in a subprocess, on tiny synthetic data."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import make_blobs
from unet_studio.models.config import ModelConfig
from unet_studio.models.registry import build_model
from unet_studio.models.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TINY_TRAIN = ["--preset", "fast", "--batch-size", "2", "--patch-size", "32", "--device", "cpu", "--augment", "none"]
CLASSES = [{"value": 1, "name": "background"}, {"value": 2, "name": "class 1"}]


def cli_env() -> dict[str, str]:
    """This checkout first on the path, no display, one torch thread (the machine is shared)."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}


def cli_command(*args) -> list[str]:
    return [sys.executable, "-m", "unet_studio", *map(str, args)]


def run_cli(*args, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run `python -m unet_studio ARGS` to the end; stdout and stderr as text."""
    return subprocess.run(cli_command(*args), capture_output=True, text=True, env=cli_env(), timeout=timeout, cwd=ROOT)


def start_cli(*args) -> subprocess.Popen:
    """Start `python -m unet_studio ARGS`; stderr is a line-buffered text pipe (progress arrives there)."""
    return subprocess.Popen(cli_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            bufsize=1, env=cli_env(), cwd=ROOT)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status non-zero, no traceback, exactly one error line holding every fragment; returns it."""
    errors = error_lines(result.stderr)
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr and len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def write_pairs(folder: Path, count: int = 4, size: int = 48) -> tuple[Path, Path]:
    """folder/images/cell_i.png blobs and folder/masks/cell_i.png their 0/1 masks."""
    images, masks = folder / "images", folder / "masks"
    images.mkdir(parents=True)
    masks.mkdir()
    for i in range(count):
        image, mask = make_blobs((size, size), seed=i)
        cv2.imwrite(str(images / f"cell_{i}.png"), image)
        cv2.imwrite(str(masks / f"cell_{i}.png"), mask)
    return images, masks


def write_tiny_model(path: Path) -> Path:
    """An untrained depth-2 U-Net checkpoint: enough for predict to run on."""
    config = ModelConfig(depth=2, base_channels=4)
    return save_checkpoint(path, build_model(config), config, CLASSES, None, {}, {})


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file in a folder, by name (what 'unchanged' means)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def blank(size: int = 48) -> np.ndarray:
    return np.zeros((size, size), np.uint8)


@contextlib.contextmanager
def tmpfs_at(folder: Path, options: str):
    """Mount a tmpfs with `options` (e.g. "ro", "size=256k") on `folder` for the block; skips the test where
    mounting is not allowed (not root, or no CAP_SYS_ADMIN)."""
    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a tmpfs mount needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode(errors='replace').strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
