"""Projects: create/open, statuses, paths, classes, models and the manifest's validation and round trip."""

import json
import os
import shutil
import time

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_blobs
from unet_studio.core.errors import AnnotationError, ProjectError
from unet_studio.core.manifest import (
    SPLITS, STATUSES, ClassInfo, ImageRecord, Manifest, ModelRecord, load_manifest, save_manifest,
)
from unet_studio.core.project import Project


def _images(folder, n=3, size=(24, 32)):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        image, _ = make_blobs(size, seed=i, radius=min(6, min(size) // 3))
        paths.append(folder / f"img{i}.png")
        cv2.imwrite(str(paths[-1]), image)
    return paths


def test_create_and_open_round_trip(tmp_path):
    paths = _images(tmp_path / "p" / "raw")
    before = {p: p.read_bytes() for p in paths}
    project = Project.create(tmp_path / "p", paths, name="cells")
    assert [r.id for r in project.images] == ["img0", "img1", "img2"]
    assert project.images[0].path == "raw/img0.png" and (project.images[0].height, project.images[0].width) == (24, 32)
    assert [(c.value, c.name) for c in project.classes] == [(1, "background"), (2, "object")]
    assert len({c.color for c in project.classes}) == 2
    assert all((tmp_path / "p" / sub).is_dir() for sub in ["annotations", "predictions", "models"])
    again = Project.open(tmp_path / "p")
    assert again.manifest == project.manifest and again.name == "cells"
    assert {p: p.read_bytes() for p in paths} == before
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(tmp_path / "p")


def test_plain_folder_of_images_becomes_a_project_in_place(tmp_path):
    _images(tmp_path / "f", n=2)
    project = Project.open_or_create(tmp_path / "f")
    assert [r.path for r in project.images] == ["img0.png", "img1.png"]
    assert Project.open_or_create(tmp_path / "f").manifest == project.manifest
    with pytest.raises(ProjectError, match="folder not found"):
        Project.open_or_create(tmp_path / "nope")


def test_add_images_dedups_ids_and_lists_unreadable_files(tmp_path):
    project = Project.create(tmp_path / "p", _images(tmp_path / "a", n=1))
    other = _images(tmp_path / "b", n=1)[0]
    broken = tmp_path / "b" / "broken.tif"
    broken.write_text("not an image")
    added = project.add_images([other, other, project.image_path("img0"), broken])
    assert [r.id for r in added] == ["img0_2", "broken"]
    assert added[0].path == str(other) and added[1].height is None
    assert project.image_path("img0_2") == other


def test_statuses_follow_annotations(tmp_path):
    project = Project.create(tmp_path / "p", _images(tmp_path / "p" / "raw", n=1))
    labels = project.load_annotation("img0")
    assert labels.shape == (24, 32) and labels.dtype == np.uint8 and not labels.any()
    labels[:5] = 2
    project.save_annotation("img0", labels)
    assert project.image("img0").status == "partial"
    np.testing.assert_array_equal(Project.open(tmp_path / "p").load_annotation("img0"), labels)
    project.save_annotation("img0", np.ones((24, 32), np.uint8))
    assert project.image("img0").status == "labelled"
    project.set_status("img0", "reviewed")
    project.save_annotation("img0", np.full((24, 32), 3, np.uint8))
    assert project.image("img0").status == "reviewed"
    project.save_annotation("img0", np.zeros((24, 32), np.uint8))
    assert Project.open(tmp_path / "p").image("img0").status == "unlabelled"


def test_annotation_shape_mismatch_names_file_and_shapes(tmp_path):
    project = Project.create(tmp_path / "p", _images(tmp_path / "p" / "raw", n=1))
    with pytest.raises(AnnotationError) as info:
        project.save_annotation("img0", np.zeros((20, 32), np.uint8))
    assert "img0.png" in str(info.value) and "20 x 32" in str(info.value) and "24 x 32" in str(info.value)
    cv2.imwrite(str(tmp_path / "p" / "annotations" / "img0.png"), np.zeros((5, 5), np.uint8))
    with pytest.raises(AnnotationError, match=r"img0\.png: annotation is 5 x 5 but the image is 24 x 32"):
        project.load_annotation("img0")


def test_predictions_round_trip_and_mark_unlabelled_images(tmp_path):
    project = Project.create(tmp_path / "p", _images(tmp_path / "p" / "raw", n=2))
    assert project.load_prediction("img0") is None
    mask = np.zeros((24, 32), np.uint8)
    mask[3:9, 4:10] = 1
    project.save_prediction("img0", mask)
    np.testing.assert_array_equal(project.load_prediction("img0"), mask)
    assert project.image("img0").status == "predicted"


def test_relative_paths_survive_moving_the_project_with_its_images(tmp_path):
    project = Project.create(tmp_path / "old", _images(tmp_path / "old" / "raw", n=1))
    project.save_annotation("img0", np.ones((24, 32), np.uint8))
    shutil.move(tmp_path / "old", tmp_path / "new")
    moved = Project.open(tmp_path / "new")
    assert moved.image_path("img0") == tmp_path / "new" / "raw" / "img0.png"
    assert all(moved.image_path(r.id).is_file() for r in moved.images) and moved.load_annotation("img0").all()


def test_missing_image_file_is_flagged_not_fatal(tmp_path):
    paths = _images(tmp_path / "p" / "raw", n=2)
    Project.create(tmp_path / "p", paths)
    paths[1].unlink()
    reopened = Project.open(tmp_path / "p")
    assert [r.id for r in reopened.images if not reopened.image_path(r.id).is_file()] == ["img1"]
    assert reopened.load_annotation("img1").shape == (24, 32)


def test_splits_and_auto_split(tmp_path):
    project = Project.create(tmp_path / "p", _images(tmp_path / "p" / "raw", n=5, size=(16, 16)))
    moved = project.auto_split(0.4, seed=1)
    assert len(moved) == 2 and sorted(r.id for r in project.images if r.split == "val") == sorted(moved)
    assert project.auto_split(0.4) == ()
    project.set_split("img0", "test")
    assert Project.open(tmp_path / "p").image("img0").split == "test"
    with pytest.raises(ProjectError, match="unknown split 'holdout'"):
        project.set_split("img0", "holdout")
    with pytest.raises(ProjectError, match="no image with id 'zzz'"):
        project.set_status("zzz", "labelled")


def test_class_editing_and_remove_class_remaps_pixels(tmp_path):
    project = Project.create(tmp_path / "p", _images(tmp_path / "p" / "raw", n=1, size=(4, 6)))
    assert [(c.value, c.name) for c in project.classes] == [(1, "background"), (2, "object")]
    project.add_class("dividing")
    fourth = project.add_class("debris")
    assert fourth.value == 4 and fourth.color not in {c.color for c in project.classes[:3]}
    project.rename_class(2, "nucleus")
    project.recolor_class(2, "#00FF00")
    assert project.class_info(2) == ClassInfo(2, "nucleus", "#00ff00")
    labels = np.array([[1, 2, 3, 4, 1, 1]] * 4, np.uint8)
    project.save_annotation("img0", labels)
    project.save_prediction("img0", labels - 1)
    project.remove_class(2)
    assert [(c.value, c.name) for c in project.classes] == [(1, "background"), (2, "dividing"), (3, "debris")]
    np.testing.assert_array_equal(project.load_annotation("img0")[0], [1, 0, 2, 3, 1, 1])
    np.testing.assert_array_equal(project.load_prediction("img0")[0], [0, 0, 1, 2, 0, 0])
    assert project.image("img0").status == "partial"
    with pytest.raises(ProjectError, match="background class"):
        project.remove_class(1)
    with pytest.raises(ProjectError, match="is not '#rrggbb'"):
        project.recolor_class(2, "red")


def test_models_register_activate_rename_remove(tmp_path):
    project = Project.create(tmp_path / "p")
    checkpoint = tmp_path / "trained.pt"
    checkpoint.write_bytes(b"weights")
    record = project.add_model(checkpoint, "first", "unet", 3, val_dice=0.8, metrics={"iou": 0.7})
    assert record.id == "model-1" and project.model_path("model-1").read_bytes() == b"weights"
    assert checkpoint.exists() and record.created.endswith("+00:00")
    project.set_active_model("model-1")
    project.rename_model("model-1", "best")
    reopened = Project.open(tmp_path / "p")
    assert reopened.active_model == "model-1" and reopened.model("model-1").name == "best"
    assert reopened.model("model-1").metrics == {"iou": 0.7}
    second = project.add_model(checkpoint, "second", "unetpp", 3, move=True)
    assert second.id == "model-2" and not checkpoint.exists()
    project.remove_model("model-1")
    assert project.active_model is None and not (tmp_path / "p" / "models" / "model-1.pt").exists()
    with pytest.raises(ProjectError, match="checkpoint file not found"):
        project.add_model(tmp_path / "gone.pt", "x", "unet", 0)


def _write_manifest(tmp_path, text):
    (tmp_path / "project.json").write_text(text, encoding="utf-8")


GOOD = {"schema_version": 1, "name": "p", "classes": [{"value": 1, "name": "background", "color": "#808080"}]}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "project file not found"),
        ('{"schema_version": 1,\n  "name": }', "invalid JSON at line 2"),
        (json.dumps({**GOOD, "schema_version": 2}), "newer UNet Studio (schema_version 2"),
        (json.dumps({**GOOD, "schema_version": "one"}), "unknown schema_version"),
        (json.dumps({"name": "p"}), "lacks schema_version, classes"),
        (json.dumps([1, 2]), "must be an object"),
        (json.dumps({**GOOD, "images": [{"id": "a", "path": "a.png", "status": "done"}]}), "image 'a' status"),
        (json.dumps({**GOOD, "classes": [{"value": 2, "name": "x", "color": "#ff0000"}]}), "background class"),
        (json.dumps({**GOOD, "classes": [{"value": 1, "name": "b", "color": "grey"}]}), "expected '#rrggbb'"),
        (json.dumps({**GOOD, "active_model": "m"}), "active_model 'm' is not a model"),
    ],
)
def test_bad_project_files_give_one_line_error_naming_the_file(tmp_path, content, reason):
    if content is not None:
        _write_manifest(tmp_path, content)
    with pytest.raises(ProjectError) as info:
        Project.open(tmp_path)
    message = str(info.value)
    assert "project.json" in message and reason in message and "\n" not in message, message


def test_unknown_keys_are_kept(tmp_path):
    data = {**GOOD, "future": {"a": 1}, "images": [{"id": "a", "path": "a.png", "note": "x"}]}
    _write_manifest(tmp_path, json.dumps(data))
    project = Project.open(tmp_path)
    project.save()
    saved = json.loads((tmp_path / "project.json").read_text())
    assert saved["future"] == {"a": 1} and saved["images"][0]["note"] == "x"


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | _text, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                     max_leaves=6)
_extra = st.dictionaries(_text.map(lambda s: "x_" + s), _json, max_size=2)
_color = st.from_regex(r"\A#[0-9a-f]{6}\Z")
_size = st.none() | st.integers(1, 10**6)


@st.composite
def _manifests(draw):
    values = draw(st.sets(st.integers(2, 300), max_size=4))
    classes = tuple(ClassInfo(v, draw(_text), draw(_color), draw(_extra)) for v in [1, *sorted(values)])
    ids = draw(st.lists(_text, unique=True, max_size=4))
    images = tuple(ImageRecord(i, draw(_text), draw(st.sampled_from(STATUSES)), draw(st.sampled_from(SPLITS)),
                               draw(_size), draw(_size), draw(_extra)) for i in ids)
    model_ids = draw(st.lists(_text, unique=True, max_size=3))
    models = tuple(ModelRecord(m, draw(_text), draw(_text), draw(_text), draw(_text), draw(st.integers(0, 99)),
                               draw(st.none() | st.floats(0, 1)), draw(st.dictionaries(_text, _json, max_size=2)),
                               draw(_extra)) for m in model_ids)
    active = draw(st.none() | st.sampled_from(model_ids)) if model_ids else None
    settings_ = draw(st.dictionaries(_text, _json, max_size=3))
    return Manifest(draw(_text), classes, images, models, settings_, active, 1, draw(_extra))


@settings(max_examples=30, deadline=None)
@given(manifest=_manifests())
def test_manifest_json_round_trips_exactly(manifest):
    text = json.dumps(manifest.to_dict(), allow_nan=False)
    assert Manifest.from_dict(json.loads(text)) == manifest


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=_manifests())
def test_manifest_file_round_trips_exactly(tmp_path, manifest):
    save_manifest(tmp_path / "project.json", manifest)
    assert load_manifest(tmp_path / "project.json") == manifest


@pytest.mark.shared_data
def test_real_dataset_imports_into_a_project(tmp_path, shared_data):
    from unet_studio.core.annotations import mask_to_annotation, read_annotation
    from unet_studio.core.images import image_info, list_images, read_image

    folder = shared_data / "dsb2018_fluo_nuclei"
    images = list_images(folder / "images")[:3]
    project = Project.create(tmp_path / "p", images)
    for record, path in zip(project.images, images):
        pixels = read_image(path).pixels
        assert pixels.shape[:2] == (record.height, record.width) and pixels.dtype == np.uint8
        assert image_info(folder / "instances" / f"{path.stem}.tif").dtype == "uint16"
        project.save_annotation(record.id, mask_to_annotation(read_annotation(folder / "masks" / path.name)))
    assert {r.status for r in project.images} == {"labelled"}
    assert all(Project.open(tmp_path / "p").image_path(r.id).is_file() for r in project.images)


def test_open_removes_temp_files_left_by_a_killed_writer(tmp_path):
    project = Project.create(tmp_path / "p", _images(tmp_path / "p" / "raw", n=1))
    stale = project.folder / "annotations" / ".img0.png.tmp-abc123"
    fresh = project.folder / ".project.json.tmp-def456"
    stale.write_bytes(b"half a file")
    fresh.write_bytes(b"a writer may still be busy with this one")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    Project.open(project.folder)
    assert not stale.exists() and fresh.exists()
