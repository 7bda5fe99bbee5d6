"""Measurements: rows agree with regionprops, classes by majority, um from a known pixel size, CSV."""

import csv

import numpy as np
import pytest
from skimage.measure import regionprops

from unet_studio.core.errors import StudioError
from unet_studio.export.measurements import measure, measure_or_raise, write_measurements_csv


def test_rows_match_regionprops(scene):
    pixels, mask, instances = scene
    rows = measure(instances, pixels, mask, ["disc", "square"], pixel_size_um=0.5, image_name="a.tif")
    props = regionprops(instances.astype(int), intensity_image=pixels.astype(float))
    assert [r["label"] for r in rows] == [p.label for p in props] == [1, 2, 3, 4, 5]
    for row, prop in zip(rows, props):
        assert row["image"] == "a.tif"
        assert row["area_px"] == prop.area
        assert row["area_um2"] == pytest.approx(prop.area * 0.25)
        assert row["perimeter_um"] == pytest.approx(prop.perimeter * 0.5)
        assert (row["centroid_y"], row["centroid_x"]) == pytest.approx(prop.centroid)
        assert (row["bbox_min_row"], row["bbox_min_col"], row["bbox_max_row"], row["bbox_max_col"]) == prop.bbox
        assert row["solidity"] == pytest.approx(prop.solidity)
        assert row["mean_c0"] == pytest.approx(prop.intensity_mean[0])
        assert row["max_c1"] == pytest.approx(prop.intensity_max[1])
    assert [r["class"] for r in rows] == ["disc"] * 3 + ["square"] * 2
    assert rows[3]["area_px"] == 90 and rows[3]["eccentricity"] > 0


def test_majority_class_wins_and_missing_names_are_generated():
    instances = np.zeros((6, 6), np.uint16)
    instances[:, :4] = 1
    classes = np.zeros((6, 6), np.uint8)
    classes[:, :3], classes[:, 3] = 3, 1
    rows = measure(instances, classes_mask=classes)
    assert rows[0]["class"] == "class 3"
    assert rows[0]["area_um2"] == "" and "mean_c0" not in rows[0]


def test_csv_round_trip_with_unknown_pixel_size(tmp_path, scene):
    pixels, mask, instances = scene
    rows = measure(instances, pixels[..., :1], mask, image_name="b.png")
    path = write_measurements_csv(tmp_path / "b.csv", rows)
    with open(path, newline="") as handle:
        back = list(csv.DictReader(handle))
    assert len(back) == 5
    assert back[0]["image"] == "b.png" and back[0]["area_um2"] == "" and back[0]["class"] == "class 1"
    assert float(back[4]["area_px"]) == rows[4]["area_px"]
    assert float(back[2]["mean_c0"]) == pytest.approx(rows[2]["mean_c0"])
    assert "mean_c1" not in back[0]


def test_empty_instances_give_header_only(tmp_path):
    rows = measure(np.zeros((8, 8), np.uint16))
    assert rows == []
    text = write_measurements_csv(tmp_path / "e.csv", rows).read_text()
    assert text.startswith("image,label,class,area_px") and text.count("\n") == 1


def test_intensity_shape_mismatch_names_file(scene):
    pixels, _, instances = scene
    with pytest.raises(StudioError, match=r"^x\.tif: intensity shape"):
        measure_or_raise("x.tif", instances, pixels[:5])
