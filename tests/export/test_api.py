"""export_folder(): every format from a folder of images + labels, problems reported per image."""

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import roifile
import tifffile

from tests.conftest import make_blobs
from unet_studio.core.errors import StudioError
from unet_studio.export.api import FORMATS, export_folder


@pytest.fixture
def folders(tmp_path):
    """images/ (a.png, b.tif with a 0.5 um pixel size, c.png without labels), masks/ (semantic PNG)."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for seed, name in enumerate(["a", "b", "c"]):
        image, mask = make_blobs((48, 64), n=3, radius=5, seed=seed + 3)
        if name == "b":
            tifffile.imwrite(images / "b.tif", image, resolution=(20000.0, 20000.0), resolutionunit="CENTIMETER")
        else:
            cv2.imwrite(str(images / f"{name}.png"), image)
        if name != "c":
            cv2.imwrite(str(masks / f"{name}.png"), mask)
    return images, masks, tmp_path / "out"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_writes_per_image_and_reports_missing_partner(folders, fmt):
    images, masks, out = folders
    calls = []
    written, problems = export_folder(images, masks, out, fmt, classes=["nucleus"],
                                      progress=lambda done, total: calls.append((done, total)))
    assert len(problems) == 1 and problems[0].startswith(str(images / "c.png")) and "no label file" in problems[0]
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert all(path.parent == out and path.is_file() for path in written)
    assert len(written) == (1 if fmt == "coco" else 2)
    if fmt != "coco":
        assert {p.name.split("_")[0].split(".")[0] for p in written} == {"a", "b"}


def test_csv_carries_pixel_size_and_geojson_objects_match(folders):
    images, masks, out = folders
    export_folder(images, masks, out, "csv", classes=["nucleus"])
    with open(out / "b.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["class"] == "nucleus" for r in rows)
    assert float(rows[0]["area_um2"]) == pytest.approx(float(rows[0]["area_px"]) * 0.25)
    with open(out / "a.csv", newline="") as handle:
        assert next(csv.DictReader(handle))["area_um2"] == ""
    export_folder(images, masks, out, "geojson")
    features = json.loads((out / "b.geojson").read_text())["features"]
    assert len(features) == len(rows)


def test_instance_tiffs_as_labels(tmp_path, folders):
    images, masks, out = folders
    instances_dir = tmp_path / "instances"
    instances_dir.mkdir()
    labels = np.zeros((48, 64), np.uint16)
    labels[5:15, 5:15], labels[20:30, 40:50] = 7, 9
    tifffile.imwrite(instances_dir / "a.tif", labels)
    written, problems = export_folder(images, instances_dir, out, "instances")
    assert len(problems) == 2 and len(written) == 1
    np.testing.assert_array_equal(tifffile.imread(written[0]), labels)
    written, _ = export_folder(images, instances_dir, out, "roi")
    assert sorted(r.name for r in roifile.roiread(written[0])) == ["class 1-7", "class 1-9"]


def test_size_mismatch_and_unreadable_image_are_problems(folders):
    images, masks, out = folders
    cv2.imwrite(str(masks / "a.png"), np.zeros((10, 10), np.uint8))
    (images / "d.png").write_bytes(b"not an image")
    cv2.imwrite(str(masks / "d.png"), np.zeros((10, 10), np.uint8))
    written, problems = export_folder(images, masks, out, "overlay")
    assert [p.name for p in written] == ["b_overlay.png"]
    assert len(problems) == 3 and all("\n" not in p for p in problems)
    assert any("a.png: labels are 10x10 but the image is 48x64" in p for p in problems)
    assert any(p.startswith(str(images / "d.png")) for p in problems)


def test_folder_level_mistakes_raise(folders, tmp_path):
    images, masks, out = folders
    with pytest.raises(StudioError, match="unknown export format 'svg'"):
        export_folder(images, masks, out, "svg")
    with pytest.raises(StudioError, match="labels folder not found"):
        export_folder(images, tmp_path / "nope", out, "csv")


def test_real_nuclei_export_to_coco_and_csv(shared_data, tmp_path):
    source = shared_data / "dsb2018_fluo_nuclei"
    images, instances = tmp_path / "images", tmp_path / "instances"
    images.mkdir()
    instances.mkdir()
    for image in sorted((source / "images").iterdir())[:2]:
        shutil.copy(image, images / image.name)
        shutil.copy(source / "instances" / f"{image.stem}.tif", instances / f"{image.stem}.tif")
    written, problems = export_folder(images, instances, tmp_path / "out", "coco", classes=["nucleus"])
    assert problems == []
    data = json.loads(written[0].read_text())
    truth = [tifffile.imread(instances / f"{Path(i['file_name']).stem}.tif") for i in data["images"]]
    assert len(data["annotations"]) == sum(len(np.unique(t)) - 1 for t in truth)
    assert data["categories"] == [{"id": 1, "name": "nucleus", "supercategory": "object"}]


def test_specks_under_the_minimum_size_are_left_out_of_semantic_masks(folders):
    images, masks, out = folders
    mask = cv2.imread(str(masks / "a.png"), cv2.IMREAD_UNCHANGED)
    blobs = int(tifffile.imread(export_folder(images, masks, out, "instances")[0][0]).max())
    mask[0, 0], mask[0:3, 60:63] = 1, 1  # a 1 px and a 9 px speck, apart from the blobs
    cv2.imwrite(str(masks / "a.png"), mask)
    written, _ = export_folder(images, masks, out, "instances")
    assert tifffile.imread(written[0]).max() == blobs
    written, _ = export_folder(images, masks, out, "masks")
    assert cv2.imread(str(written[0]), cv2.IMREAD_UNCHANGED)[0, 0] == 0
    written, _ = export_folder(images, masks, out, "instances", min_size=0)
    assert tifffile.imread(written[0]).max() == blobs + 2
