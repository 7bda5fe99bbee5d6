"""Volumes: multi-page TIFF reading, label volume checks, 3-D patch sampling and augmentation."""

import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import ImageReadError, TrainingError
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.volume import (
    VolumeItem, labelled_planes, normalize_volume, read_label_volume, read_volume, read_volume_item,
)
from unet_studio.data.volume_batches import VolumeBatchSource, VolumePatchSampler, augment_volume, mirrored


def write_stack(path, array, spacing=None, pixel_um=None):
    metadata = {"axes": "ZYX"} if array.ndim == 3 else {"axes": "ZYXC"}
    if spacing:
        metadata.update(spacing=spacing, unit="um")
    resolution = (1 / pixel_um, 1 / pixel_um) if pixel_um else None
    tifffile.imwrite(path, array, imagej=array.ndim == 3, metadata=metadata, resolution=resolution)
    return path


def sparse_labels(shape, planes):
    labels = np.zeros(shape, np.uint8)
    for z in planes:
        labels[z] = 1
        labels[z, 4:8, 4:8] = 2
    return labels


def test_read_volume_gives_zyxc_and_voxel_size(tmp_path):
    array = np.arange(5 * 12 * 10, dtype=np.uint16).reshape(5, 12, 10)
    volume = read_volume(write_stack(tmp_path / "v.tif", array, spacing=2.0, pixel_um=0.5))
    assert volume.pixels.shape == (5, 12, 10, 1)
    assert np.array_equal(volume.pixels[..., 0], array)
    assert volume.voxel_size_um == pytest.approx((2.0, 0.5, 0.5))


def test_read_volume_without_metadata_has_no_voxel_size(tmp_path):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, np.zeros((3, 8, 8), np.uint8), photometric="minisblack")
    volume = read_volume(path)
    assert volume.shape == (3, 8, 8) and volume.voxel_size_um is None


def test_unreadable_volume_names_the_file(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"not a tiff at all")
    with pytest.raises(ImageReadError, match="broken.tif"):
        read_volume(path)


def test_label_volume_of_another_shape_is_refused_in_one_line(tmp_path):
    path = write_stack(tmp_path / "lab.tif", sparse_labels((4, 12, 12), [0]))
    with pytest.raises(ImageReadError) as caught:
        read_label_volume(path, (5, 12, 12))
    assert "lab.tif" in str(caught.value) and "does not match" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_label_volume_without_labels_is_refused(tmp_path):
    path = write_stack(tmp_path / "empty.tif", np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(ImageReadError, match="empty.tif.*no labelled voxel"):
        read_label_volume(path, (3, 8, 8))


def test_volume_item_keeps_unlabelled_planes_at_minus_one(tmp_path):
    image = write_stack(tmp_path / "img.tif", np.random.default_rng(0).integers(0, 255, (6, 16, 16), np.uint8))
    labels = write_stack(tmp_path / "lab.tif", sparse_labels((6, 16, 16), [1, 4]))
    item = read_volume_item(image, labels, {"low": 0.5, "high": 99.5})
    assert item.image.shape == (1, 6, 16, 16) and item.image.dtype == np.float32
    assert (item.target[[0, 2, 3, 5]] == -1).all()
    assert set(np.unique(item.target[1])) == {0, 1}
    assert labelled_planes(item.target + 1) == [1, 4]


def test_normalisation_uses_the_whole_volume():
    pixels = np.zeros((2, 4, 4, 1), np.uint8)
    pixels[1] = 200
    out = normalize_volume(pixels, 0, 100)
    assert out.shape == (1, 2, 4, 4)
    assert np.allclose(out[0, 0], 0) and np.allclose(out[0, 1], 1)


def test_volume_item_checks_shapes():
    with pytest.raises(TrainingError, match="does not match"):
        VolumeItem(np.zeros((1, 2, 4, 4), np.float32), np.zeros((2, 4, 5), np.int64))


def test_mirrored_indices_reflect_past_both_ends():
    assert mirrored(-2, 7, 4).tolist() == [2, 1, 0, 1, 2, 3, 2]


def test_sampler_centres_patches_on_labelled_planes():
    target = np.full((20, 32, 32), -1, np.int64)
    target[8] = 0
    target[8, 10:20, 10:20] = 1
    item = VolumeItem(np.zeros((1, 20, 32, 32), np.float32), target)
    sampler = VolumePatchSampler([item], patch_size=16, patch_depth=5, rng=np.random.default_rng(0),
                                 labelled_bias=1.0)
    for _ in range(20):
        image, patch = sampler.sample()
        assert image.shape == (1, 5, 16, 16) and patch.shape == (5, 16, 16)
        assert (patch[2] >= 0).all()  # the centre plane is the labelled one
        assert (patch[[0, 1, 3, 4]] == -1).all()


def test_sampler_mirrors_volumes_thinner_than_the_patch():
    target = np.zeros((3, 8, 8), np.int64)
    target[:, :4] = 1
    item = VolumeItem(np.zeros((1, 3, 8, 8), np.float32), target)
    image, patch = VolumePatchSampler([item], 16, 8, np.random.default_rng(1)).sample()
    assert image.shape == (1, 8, 16, 16) and patch.shape == (8, 16, 16)


def test_augmentation_moves_image_and_target_together():
    rng = np.random.default_rng(3)
    target = rng.integers(0, 3, (4, 8, 8)).astype(np.int64)
    image = target[None].astype(np.float32)
    config = AugmentConfig.preset("light")
    config = AugmentConfig(**{**config.to_dict(), "flip_p": 1.0, "rot90_p": 1.0, "intensity_p": 0.0,
                              "intensity_scale": (0.9, 1.1)})
    changed = False
    for _ in range(10):
        new_image, new_target = augment_volume(image, target, rng, config)
        assert np.array_equal(new_image[0].astype(np.int64), new_target)
        changed |= not np.array_equal(new_target, target)
    assert changed


def test_batches_have_3d_shapes_and_need_two_classes():
    target = np.full((6, 16, 16), -1, np.int64)
    target[2, :8] = 0
    target[2, 8:] = 1
    item = VolumeItem(np.random.default_rng(0).random((1, 6, 16, 16), np.float32), target)
    batch = VolumeBatchSource([item], 16, 4, 3, 0, AugmentConfig()).next_batch()
    assert batch.images.shape == (3, 1, 4, 16, 16) and batch.targets.shape == (3, 4, 16, 16)
    assert batch.weights is None
    only_background = VolumeItem(item.image, np.where(target == 1, 0, target))
    with pytest.raises(TrainingError, match="only background"):
        VolumeBatchSource([only_background], 16, 4, 3, 0, AugmentConfig())
