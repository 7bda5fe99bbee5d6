"""Loading the shared real datasets for benchmarks (skips with a clear message when absent)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

# ../shared/data beside the checkout, or wherever UNET_STUDIO_DATA points (a worktree kept elsewhere).
SHARED = Path(os.environ.get("UNET_STUDIO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def dataset_dir(name: str) -> Path:
    """The folder of one shared dataset, or exit with a one-line reason."""
    folder = SHARED / name
    if not (folder / "images").is_dir():
        print(f'{{"skipped": "real data not found at {folder}"}}')
        sys.exit(0)
    return folder


def load_pairs(name: str, ids: list[str] | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(id, image uint8 (H, W), mask uint8 (H, W) 0/1) for the given ids, or all of them."""
    folder = dataset_dir(name)
    paths = sorted((folder / "images").glob("*.png"))
    pairs = []
    for path in paths:
        if ids is not None and path.stem not in ids:
            continue
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        mask = cv2.imread(str(folder / "masks" / path.name), cv2.IMREAD_UNCHANGED)
        pairs.append((path.stem, image, mask))
    return pairs


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice of the foreground (value 1) between two 0/1 masks."""
    p, t = pred > 0, truth > 0
    denom = p.sum() + t.sum()
    return 1.0 if denom == 0 else float(2 * (p & t).sum() / denom)
