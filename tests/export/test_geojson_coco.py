"""QuPath GeoJSON and COCO JSON, read back with json: same objects, coordinates and classes."""

import json

import numpy as np
import pytest
from skimage.draw import polygon as fill_polygon

from unet_studio.core.errors import StudioError
from unet_studio.export.coco import CocoImage, write_coco
from unet_studio.export.geojson import write_geojson


def _filled(xy, shape):
    region = np.zeros(shape, bool)
    rows, cols = fill_polygon(np.asarray(xy)[:, 1] - 0.5, np.asarray(xy)[:, 0] - 0.5, shape)
    region[rows, cols] = True
    return region


def test_geojson_round_trip(tmp_path, scene):
    _, mask, instances = scene
    classes = [{"name": "disc", "color": "#00ff00"}, {"name": "square", "color": [10, 20, 30]}]
    path = write_geojson(tmp_path / "a.geojson", instances, mask, classes, "detection", pixel_size_um=0.25)
    data = json.loads(path.read_text())
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 5
    for feature in data["features"]:
        props, geometry = feature["properties"], feature["geometry"]
        label = props["label"]
        assert feature["type"] == "Feature" and geometry["type"] == "Polygon"
        ring = geometry["coordinates"][0]
        assert ring[0] == ring[-1]
        np.testing.assert_array_equal(_filled(ring, instances.shape), instances == label)
        assert props["objectType"] == "detection"
        expected = ("disc", [0, 255, 0]) if label <= 3 else ("square", [10, 20, 30])
        assert (props["classification"]["name"], props["classification"]["color"]) == expected
        assert props["measurements"]["Area um^2"] == pytest.approx((instances == label).sum() / 16)


def test_coco_round_trip_over_two_images(tmp_path, scene):
    _, mask, instances = scene
    second = np.zeros((20, 30), np.uint16)
    second[2:6, 3:9] = 1
    entries = [CocoImage("a.png", instances, mask, pixel_size_um=0.5), CocoImage("b.png", second)]
    data = json.loads(write_coco(tmp_path / "c.json", entries, ["disc", "square"]).read_text())
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in data["images"]] == [
        (1, "a.png", 90, 72), (2, "b.png", 30, 20)]
    assert data["images"][0]["pixel_size_um"] == 0.5 and "pixel_size_um" not in data["images"][1]
    assert data["categories"] == [{"id": 1, "name": "disc", "supercategory": "object"},
                                  {"id": 2, "name": "square", "supercategory": "object"}]
    annotations = data["annotations"]
    assert [a["id"] for a in annotations] == [1, 2, 3, 4, 5, 6]
    assert [a["image_id"] for a in annotations] == [1] * 5 + [2]
    assert [a["category_id"] for a in annotations] == [1, 1, 1, 2, 2, 1]
    square = annotations[3]
    assert square["bbox"] == [60, 45, 9, 10] and square["area"] == 90 and square["iscrowd"] == 0
    for label, ann in enumerate(annotations[:5], start=1):
        xy = np.asarray(ann["segmentation"][0]).reshape(-1, 2)
        np.testing.assert_array_equal(_filled(xy, instances.shape), instances == label)
    assert annotations[5]["bbox"] == [3, 2, 6, 4]


def test_geojson_and_coco_errors_name_the_file(tmp_path):
    with pytest.raises(StudioError, match=r"a\.geojson: objectType"):
        write_geojson(tmp_path / "a.geojson", np.ones((4, 4), np.uint16), object_type="cell")
    with pytest.raises(StudioError, match=r"c\.json: x\.png instances must be 2-D"):
        write_coco(tmp_path / "c.json", [CocoImage("x.png", np.ones((4, 4, 2), np.uint16))])


def _decode_rle(rle):
    height, width = rle["size"]
    values = np.repeat(np.arange(len(rle["counts"])) % 2, rle["counts"]).astype(bool)
    assert values.size == height * width
    return values.reshape((width, height)).T  # column-major, as pycocotools


def test_holes_and_pieces_survive_in_geojson_and_coco(tmp_path):
    from unet_studio.export.objects import signed_area

    instances = np.zeros((40, 50), np.uint16)
    instances[2:20, 2:20] = 1
    instances[7:12, 6:14] = 0  # a hole in object 1
    instances[25:30, 5:10] = 2
    instances[32:38, 30:45] = 2  # object 2 in two pieces
    instances[3:9, 30:36] = 3
    data = json.loads(write_geojson(tmp_path / "h.geojson", instances).read_text())
    geometry = {f["properties"]["label"]: f["geometry"] for f in data["features"]}
    outer, hole = geometry[1]["coordinates"]
    assert geometry[1]["type"] == "Polygon"
    assert signed_area(np.array(outer)) > 0 > signed_area(np.array(hole))
    np.testing.assert_array_equal(_filled(outer, instances.shape) & ~_filled(hole, instances.shape), instances == 1)
    assert geometry[2]["type"] == "MultiPolygon" and len(geometry[2]["coordinates"]) == 2
    pieces = [_filled(polygon[0], instances.shape) for polygon in geometry[2]["coordinates"]]
    np.testing.assert_array_equal(pieces[0] | pieces[1], instances == 2)
    assert pieces[0].sum() > pieces[1].sum()  # largest piece first
    assert geometry[3]["type"] == "Polygon" and len(geometry[3]["coordinates"]) == 1

    coco = json.loads(write_coco(tmp_path / "c.json", [CocoImage("h.png", instances)]).read_text())
    segmentation = {a["id"]: a["segmentation"] for a in coco["annotations"]}
    np.testing.assert_array_equal(_decode_rle(segmentation[1]), instances == 1)
    assert len(segmentation[2]) == 2 and len(segmentation[3]) == 1
    filled = [_filled(np.reshape(p, (-1, 2)), instances.shape) for p in segmentation[2]]
    np.testing.assert_array_equal(filled[0] | filled[1], instances == 2)
