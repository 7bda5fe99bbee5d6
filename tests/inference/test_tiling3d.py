"""3-D overlap tiles: tiled == whole-volume prediction away from borders; 3-D instances on touching spheres."""

import numpy as np
import pytest
import torch

from unet_studio.core.errors import ModelFileError
from unet_studio.inference.instances3d import relative_spacing, volume_instances
from unet_studio.inference.tiling3d import (
    VolumeTiles, blend_window_3d, predict_volume_probabilities, volume_tile_layout,
)
from unet_studio.inference.volume_predictor import VolumePredictor
from unet_studio.models import ModelConfig, build_model


def tiny_3d(num_classes=2, xy_pool_levels=1):
    torch.manual_seed(0)
    config = ModelConfig(arch="unet3d", depth=2, base_channels=4, num_classes=num_classes,
                         xy_pool_levels=xy_pool_levels)
    return build_model(config).eval()


def random_volume(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_tiled_equals_whole_volume_away_from_borders():
    model, volume = tiny_3d(3), random_volume((1, 40, 52, 46))
    tiles = VolumeTiles(model, "cpu", precision="fp32")
    whole = predict_volume_probabilities(tiles, volume, tile=(64, 64, 64), overlap=(0, 0, 0))
    tiled = predict_volume_probabilities(tiles, volume, tile=(32, 32, 32), overlap=(16, 16, 16))
    assert tiled.shape == (3, 40, 52, 46) and tiled.dtype == np.float32
    with torch.inference_mode():
        direct = torch.softmax(model(torch.from_numpy(volume)[None]), dim=1)[0].numpy()
    np.testing.assert_allclose(whole, direct, atol=1e-5)
    inner = np.s_[:, 4:-4, 12:-12, 12:-12]
    np.testing.assert_allclose(tiled[inner], whole[inner], atol=1e-5)
    np.testing.assert_allclose(tiled.sum(axis=0), 1.0, atol=1e-5)


def test_layout_covers_every_axis_on_the_pooling_grid():
    layout = volume_tile_layout((20, 512, 300), (16, 160, 160), (4, 32, 32), (2, 4, 4))
    for (length, starts), size, align in zip(layout, (20, 512, 300), (2, 4, 4)):
        assert length % align == 0 and all(s % align == 0 for s in starts)
        assert starts[0] == 0 and starts[-1] + length >= size
        assert all(b - a < length for a, b in zip(starts, starts[1:]))  # tiles overlap


@pytest.mark.parametrize("shape", [(1, 1, 5, 7), (1, 3, 40, 9), (2, 9, 17, 33)])
def test_odd_and_thin_volumes_keep_their_shape(shape):
    model = build_model(ModelConfig(arch="unet3d", depth=2, base_channels=4, in_channels=shape[0])).eval()
    probs = predict_volume_probabilities(VolumeTiles(model, precision="fp32"), random_volume(shape), (8, 16, 16),
                                         (2, 4, 4))
    assert probs.shape == (2, *shape[1:])


def test_blend_window_is_separable_and_positive():
    window = blend_window_3d((8, 16, 16), (4, 8, 8))
    assert window.shape == (8, 16, 16) and (window > 0).all()
    assert window[4, 8, 8] == pytest.approx(1.0)


def touching_spheres(radius=7, gap=12, spacing=(1.0, 1.0, 1.0)):
    """Two balls of `radius` (physical units) with centres `gap` apart along x: they overlap in a neck."""
    z, y, x = np.mgrid[:24, :32, :44].astype(float)
    z, y, x = z * spacing[0], y * spacing[1], x * spacing[2]
    centre = np.array([12.0 * spacing[0], 16.0, 15.0])
    first = (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius**2
    second = (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2] - gap) ** 2 <= radius**2
    return (first | second).astype(np.uint8), first, second


def test_two_touching_spheres_give_two_ids():
    mask, first, second = touching_spheres()
    labels = volume_instances(mask)
    assert labels.dtype == np.uint16 and labels.shape == mask.shape
    assert set(np.unique(labels)) == {0, 1, 2}
    ids_first, ids_second = np.unique(labels[first & ~second]), np.unique(labels[second & ~first])
    assert len(ids_first) == 1 and len(ids_second) == 1 and ids_first[0] != ids_second[0]


def test_touching_spheres_in_anisotropic_voxels_split_with_the_voxel_size():
    mask, _, _ = touching_spheres(spacing=(2.0, 1.0, 1.0))
    assert len(np.unique(volume_instances(mask, voxel_size_um=(1.0, 0.5, 0.5)))) == 3
    assert relative_spacing((1.0, 0.5, 0.5)) == (2.0, 1.0, 1.0)


def test_one_sphere_and_no_split_give_one_id_each():
    mask, _, _ = touching_spheres()
    assert len(np.unique(volume_instances(mask, split_touching=False))) == 2
    single, _, _ = touching_spheres(gap=0)
    assert len(np.unique(volume_instances(single))) == 2


def test_classes_are_split_separately():
    mask = np.zeros((4, 10, 10), np.uint8)
    mask[:, :, :5], mask[:, :, 5:] = 1, 2
    assert set(np.unique(volume_instances(mask))) == {1, 2}


def test_volume_predictor_masks_a_raw_volume_and_refuses_2d_models():
    predictor = VolumePredictor(tiny_3d(), [], {"low": 0.5, "high": 99.5}, device="cpu", tile=(8, 32, 32),
                                overlap=(2, 8, 8))
    raw = (random_volume((6, 40, 36)) * 1000).astype(np.uint16)
    result = predictor.predict(raw, instances=True)
    assert result.mask.shape == (6, 40, 36) and result.instances.shape == (6, 40, 36)
    assert result.probabilities.shape == (2, 6, 40, 36)
    with pytest.raises(ModelFileError, match="not a 3-D model"):
        VolumePredictor(build_model(ModelConfig(depth=2, base_channels=4)), [], {})
