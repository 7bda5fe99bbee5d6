"""A tiny project on disk for the live-training tests: blob images, labels written as a user's saves would be."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.conftest import make_blobs
from unet_studio.core.project import Project

SIZE = 48


def blob_annotation(seed: int, rows: slice = slice(None)) -> np.ndarray:
    """The annotation (1 background, 2 disc) of blob image `seed`, labelled only in `rows` (0 elsewhere)."""
    labels = np.zeros((SIZE, SIZE), np.uint8)
    mask = make_blobs((SIZE, SIZE), n=4, radius=5, seed=seed)[1]
    labels[rows] = mask[rows] + 1
    return labels


def make_project(folder: Path, count: int = 2, labelled: int = 1) -> Project:
    """`count` blob images (ids img0, img1, ...), the first `labelled` of them labelled everywhere."""
    source = folder / "source"
    source.mkdir(parents=True)
    for index in range(count):
        cv2.imwrite(str(source / f"img{index}.png"), make_blobs((SIZE, SIZE), n=4, radius=5, seed=index)[0])
    project = Project.create(folder / "project", sorted(source.iterdir()))
    for index in range(labelled):
        project.save_annotation(f"img{index}", blob_annotation(index))
    return project
