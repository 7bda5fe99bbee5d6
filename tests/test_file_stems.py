"""One stem rule pairs images with label files at every entry point: the project's image ids, training from
folders, label import and export all read 'a.ome.tiff' as 'a', 'a.tif' as 'a' and 'a.b.png' as 'a.b'."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from tests.conftest import make_blobs
from unet_studio.core.images import file_stem
from unet_studio.core.project import Project
from unet_studio.io.annotation_import import import_annotations
from unet_studio.export.api import export_folder
from unet_studio.training.api import load_training_items

NAMES = {"a.ome.tiff": "a", "c.tif": "c", "a.b.png": "a.b"}


@pytest.mark.parametrize("name, stem", [*NAMES.items(), ("x.OME.TIF", "x"), ("noext", "noext")])
def test_file_stem(name, stem):
    assert file_stem(Path("folder") / name) == stem == file_stem(f"folder/{name}")


@pytest.fixture
def folders(tmp_path):
    """images/ named as in NAMES and masks/<stem>.png (0 background, 1 blobs) beside them."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for seed, (name, stem) in enumerate(NAMES.items()):
        image, mask = make_blobs((32, 40), n=2, radius=4, seed=seed)
        if name.endswith(".png"):
            cv2.imwrite(str(images / name), image)
        else:
            tifffile.imwrite(images / name, image)
        cv2.imwrite(str(masks / f"{stem}.png"), mask)
    return images, masks


def test_every_entry_point_pairs_by_the_same_stem(folders, tmp_path):
    images, masks = folders
    paths = sorted(images.iterdir())
    project = Project.create(tmp_path / "project", paths)
    assert sorted(r.id for r in project.images) == sorted(NAMES.values())
    imported, problems = import_annotations(project, masks, "mask")
    assert problems == [] and sorted(imported) == sorted(NAMES.values())
    items, problems = load_training_items(paths, sorted(masks.iterdir()), "mask")
    assert problems == [] and len(items) == len(NAMES)
    written, problems = export_folder(images, masks, tmp_path / "out", "masks")
    assert problems == [] and sorted(p.name for p in written) == sorted(f"{s}_mask.png" for s in NAMES.values())
    assert np.array_equal(cv2.imread(str(tmp_path / "out" / "a_mask.png"), cv2.IMREAD_UNCHANGED) > 0,
                          cv2.imread(str(masks / "a.png"), cv2.IMREAD_UNCHANGED) > 0)
