"""Training patches from a lazy image and its chunked labels: regions only (never the whole image), centred
on labelled pixels, the same pixels and targets a whole-image crop would give."""

import numpy as np
import pytest
import tifffile

from tests.conftest import make_blobs
from unet_studio.core.chunked_labels import ChunkedLabels
from unet_studio.core.errors import TrainingError
from unet_studio.core.normalize import normalize_with_range
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data import lazy_patches
from unet_studio.data.lazy_patches import LazyBatchSource, LazyTrainItem
from unet_studio.io import multiscale_image
from unet_studio.io.ome_zarr import open_multiscale
from unet_studio.io.ome_zarr_convert import convert_to_ome_zarr

zarr = pytest.importorskip("zarr")
HEIGHT, WIDTH = 400, 360


@pytest.fixture
def big(tmp_path):
    """A "big" 400 x 360 image (OME-Zarr, 64-pixel chunks) with scribbles in three of its 42 label chunks."""
    image, mask = make_blobs((HEIGHT, WIDTH), n=30, radius=8, seed=5, dtype=np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", image)
    source = convert_to_ome_zarr(tmp_path / "big.tif", tmp_path / "big.ome.zarr", chunk=64)
    labels = ChunkedLabels(tmp_path / "big.chunks", (HEIGHT, WIDTH), chunk=64)
    annotation = np.zeros((HEIGHT, WIDTH), np.uint8)
    for y, x in ((10, 10), (200, 150), (330, 300)):
        annotation[y:y + 40, x:x + 40] = mask[y:y + 40, x:x + 40] + 1  # 1 background, 2 object
    labels.write(0, 0, annotation)
    return open_multiscale(source), labels, image, annotation


def test_patches_read_regions_only_and_match_a_whole_image_crop(big, monkeypatch):
    lazy, labels, image, annotation = big
    item = LazyTrainItem.open(lazy, labels, "big")
    reads = []
    original = multiscale_image.MultiscaleImage.read

    def recording(self, level, y0, y1, x0, x1):
        reads.append((level, y1 - y0, x1 - x0))
        return original(self, level, y0, y1, x0, x1)

    monkeypatch.setattr(multiscale_image.MultiscaleImage, "read", recording)
    source = LazyBatchSource([item], patch_size=32, batch_size=8, rng_seed=0,
                             augment_config=AugmentConfig.preset("none"), labelled_bias=1.0)
    assert source.counts.tolist() == [int((annotation == 1).sum()), int((annotation == 2).sum())]
    batch = source.next_batch()
    assert batch.images.shape == (8, 1, 32, 32) and batch.targets.shape == (8, 32, 32)
    assert all(level == 0 and h * w <= 64 * 64 for level, h, w in reads)
    assert (batch.targets[:, 16, 16] >= 0).all()  # centred on labelled pixels
    whole = normalize_with_range(image, item.lo, item.hi)[0]
    target = annotation.astype(np.int64) - 1
    for patch, labels_patch in zip(batch.images[:, 0], batch.targets):
        candidates = np.argwhere(whole[:HEIGHT - 31, :WIDTH - 31] == patch[0, 0])
        hits = [(y, x) for y, x in candidates if np.array_equal(whole[y:y + 32, x:x + 32], patch)
                and np.array_equal(target[y:y + 32, x:x + 32], labels_patch)]
        assert hits, "a patch is not a crop of the image and its labels"


def test_both_classes_are_drawn_and_augmented_patches_keep_their_shape(big):
    lazy, labels, _, _ = big
    source = LazyBatchSource([LazyTrainItem.open(lazy, labels)], patch_size=24, batch_size=16, rng_seed=1,
                             augment_config=AugmentConfig.preset("default"), margin=4)
    batch = source.next_batch()
    assert batch.images.shape == (16, 1, 32, 32) and batch.targets.shape == (16, 24, 24)
    assert {0, 1} <= set(np.unique(batch.targets).tolist())


def test_unlabelled_or_mismatched_labels_are_refused(big, tmp_path):
    lazy, _, _, _ = big
    empty = ChunkedLabels(tmp_path / "empty.chunks", (HEIGHT, WIDTH), chunk=64)
    with pytest.raises(TrainingError, match="no labelled pixels"):
        LazyBatchSource([LazyTrainItem.open(lazy, empty)], 32, 2, 0, AugmentConfig.preset("none"))
    with pytest.raises(TrainingError, match="labels are 100 x 100 but the image is 400 x 360"):
        LazyTrainItem.open(lazy, ChunkedLabels(tmp_path / "x.chunks", (100, 100)), "big")


def test_an_image_without_a_small_level_is_sampled_in_windows(big, monkeypatch):
    """No level fits RANGE_PIXELS (a big TIFF without a pyramid): the range comes from windows of at most
    SAMPLE_SIDE pixels, RANGE_PIXELS in all, and matches the whole image's closely."""
    lazy, _, image, _ = big
    whole_lo, whole_hi = lazy_patches.percentile_range(image)
    monkeypatch.setattr(lazy_patches, "RANGE_PIXELS", 120 * 120)
    monkeypatch.setattr(lazy_patches, "SAMPLE_SIDE", 40)
    reads = []
    original = multiscale_image.MultiscaleImage.read
    monkeypatch.setattr(multiscale_image.MultiscaleImage, "read",
                        lambda self, level, *box: reads.append((level, box)) or original(self, level, *box))
    level0 = zarr.open_group(str(lazy.path), mode="r")["0"]
    single = multiscale_image.MultiscaleImage(lazy.path, [level0], "YX")  # level 0 only
    lo, hi = lazy_patches.intensity_range(single)
    assert len(reads) == 9 and all(y1 - y0 <= 40 and x1 - x0 <= 40 for _, (y0, y1, x0, x1) in reads)
    assert abs(lo[0] - whole_lo[0]) <= 0.05 * (whole_hi[0] - whole_lo[0])
    assert abs(hi[0] - whole_hi[0]) <= 0.05 * (whole_hi[0] - whole_lo[0])
