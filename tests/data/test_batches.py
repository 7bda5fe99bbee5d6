"""BatchSource: seeded, correctly shaped batches with weight maps; clear errors on untrainable label sets."""


import numpy as np
import pytest

from tests.conftest import make_blobs
from unet_studio.core.errors import TrainingError
from unet_studio.data.augment import AugmentConfig
from unet_studio.data.batches import BatchSource, check_trainable, count_labelled
from unet_studio.data.sampling import TrainItem
from unet_studio.data.weights import BorderWeight


def _blob_items(n=2, size=(96, 80), sparse=False):
    items = []
    for seed in range(n):
        image, mask = make_blobs(size, n=8, radius=7, seed=seed, dtype=np.float32)
        target = mask.astype(np.int64)
        if sparse:
            target[::2] = -1
        items.append(TrainItem(image[None], target, f"blobs{seed}.png"))
    return items


@pytest.mark.parametrize("margin", [0, 6])
@pytest.mark.parametrize("border_weight", [None, BorderWeight(), BorderWeight(gaps="foreground")])
def test_batches_have_the_contract_shapes_and_dtypes(margin, border_weight):
    source = BatchSource(_blob_items(sparse=True), 48, 3, 0, AugmentConfig(), margin, border_weight)
    batch = source.next_batch()
    assert batch.images.shape == (3, 1, 48 + 2 * margin, 48 + 2 * margin) and batch.images.dtype == np.float32
    assert batch.targets.shape == (3, 48, 48) and batch.targets.dtype == np.int64
    assert np.isfinite(batch.images).all() and batch.targets.min() >= -1 and batch.targets.max() <= 1
    if border_weight is None:
        assert batch.weights is None
    else:
        assert batch.weights.shape == (3, 48, 48) and batch.weights.dtype == np.float32
        assert (batch.weights[batch.targets == -1] == 0).all()
        assert (batch.weights[batch.targets >= 0] > 0).all()


def test_targets_are_the_centre_of_the_model_input():
    """With no augmentation, image pixels encode labels, so the target must equal the input's centre."""
    items = []
    for item in _blob_items():
        items.append(TrainItem(item.target[None].astype(np.float32), item.target, item.name))
    source = BatchSource(items, 32, 4, 1, AugmentConfig.preset("none"), margin=5)
    batch = source.next_batch()
    centre = batch.images[:, 0, 5:37, 5:37]
    labelled = batch.targets >= 0
    np.testing.assert_array_equal(centre[labelled], batch.targets[labelled])


def test_same_seed_same_batches_and_different_seed_differs():
    def first_batch(seed):
        return BatchSource(_blob_items(), 32, 2, seed, AugmentConfig.preset("strong"), border_weight=BorderWeight(5.0, 3.0))

    a, b, c = first_batch(4).next_batch(), first_batch(4).next_batch(), first_batch(5).next_batch()
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.targets, b.targets)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-6)  # numpy's SIMD exp may differ by an ulp
    assert not np.array_equal(a.images, c.images)


def test_count_labelled_and_untrainable_sets():
    items = _blob_items(sparse=True)
    counts = count_labelled(items)
    expected = [sum(int((it.target == k).sum()) for it in items) for k in (0, 1)]
    assert counts.tolist() == expected
    np.testing.assert_array_equal(check_trainable(items), counts)
    unlabelled = [TrainItem(np.zeros((1, 8, 8), np.float32), np.full((8, 8), -1), "a.png")]
    with pytest.raises(TrainingError, match="^training set: no labelled pixels yet: label some"):
        BatchSource(unlabelled, 8, 1, 0, AugmentConfig())
    only_background = [TrainItem(np.zeros((1, 8, 8), np.float32), np.zeros((8, 8), np.int64), "a.png")]
    with pytest.raises(TrainingError, match="only background is labelled"):
        check_trainable(only_background)
    only_objects = [TrainItem(np.zeros((1, 8, 8), np.float32), np.full((8, 8), 2), "a.png")]
    with pytest.raises(TrainingError, match="only class 2 is labelled"):
        check_trainable(only_objects)


@pytest.mark.shared_data
def test_real_nuclei_batches(shared_data):
    from unet_studio.core.images import list_images, read_image
    from unet_studio.core.normalize import normalize_for_network

    folder = shared_data / "dsb2018_fluo_nuclei"
    items = []
    for path in list_images(folder / "images")[:6]:
        mask = read_image(folder / "masks" / path.name).pixels[..., 0]
        image = normalize_for_network(read_image(path).pixels)
        items.append(TrainItem(image, (mask > 0).astype(np.int64), path.name))
    source = BatchSource(items, 128, 4, 0, AugmentConfig(), border_weight=BorderWeight())
    batch = source.next_batch()
    assert batch.images.shape[:2] == (4, items[0].image.shape[0])
    assert set(np.unique(batch.targets)) >= {0, 1}
    assert batch.weights.max() > 2.0  # nuclei that nearly touch get the gap bonus
