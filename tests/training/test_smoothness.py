"""Image-aware smoothness: cheap where classes follow the image's edges, and it spreads a scribble through a
like-looking region without crossing an edge; no term for dense labels; the Trainer runs with it."""

import math

import pytest
import torch

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, scribbled_items, tiny_config
from unet_studio.core.errors import TrainingError
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import TrainingFinished
from unet_studio.training.losses import masked_cross_entropy
from unet_studio.training.smoothness import gaussian_blur, labels_are_sparse, smoothness_loss, smoothness_term
from unet_studio.training.trainer import Trainer

SIZE = 32


def _two_halves() -> torch.Tensor:
    """(1, 1, SIZE, SIZE): dark left half, bright right half, a little noise."""
    generator = torch.Generator().manual_seed(0)
    image = torch.zeros(1, 1, SIZE, SIZE)
    image[..., SIZE // 2:] = 1.0
    return image + 0.05 * torch.randn(image.shape, generator=generator)


def _confident(foreground: torch.Tensor) -> torch.Tensor:
    """Logits sure of class 1 where `foreground` (SIZE, SIZE) is true and of class 0 elsewhere."""
    logits = torch.zeros(1, 2, SIZE, SIZE)
    logits[0, 1][foreground] = 10.0
    logits[0, 0][~foreground] = 10.0
    return logits


def test_classes_that_follow_the_edge_cost_almost_nothing():
    image = _two_halves()
    columns = torch.arange(SIZE).expand(SIZE, SIZE)
    along_edge = smoothness_loss(_confident(columns >= SIZE // 2), image, sigma=0.5)
    across_regions = smoothness_loss(_confident(columns.T >= SIZE // 2), image, sigma=0.5)
    assert along_edge.item() < 0.01 * across_regions.item()


def test_uncertain_predictions_cost_more_than_confident_ones():
    image = _two_halves()
    columns = torch.arange(SIZE).expand(SIZE, SIZE)
    assert smoothness_loss(torch.zeros(1, 2, SIZE, SIZE), image, 0.5) > smoothness_loss(
        _confident(columns >= SIZE // 2), image, 0.5)


def test_a_scribble_spreads_through_its_region_and_stops_at_the_edge():
    """Free logits, one labelled pixel per half, plain gradient descent: the cross-entropy alone moves only
    those two pixels; with the smoothness term every pixel of a half takes the class of its scribble."""
    image = _two_halves()
    target = torch.full((1, SIZE, SIZE), -1)
    target[0, SIZE // 2, 2], target[0, SIZE // 2, SIZE - 3] = 0, 1

    def fit(weight: float) -> torch.Tensor:
        logits = torch.zeros(1, 2, SIZE, SIZE, requires_grad=True)
        optimizer = torch.optim.SGD([logits], lr=1e3)  # the mean over all pairs makes each pixel's gradient tiny
        for _ in range(300):
            optimizer.zero_grad()
            loss = masked_cross_entropy(logits, target) + smoothness_term(logits, image, target, weight, 0.5)
            loss.backward()
            optimizer.step()
        return torch.softmax(logits.detach(), dim=1)[0, 1]

    spread = fit(5.0)
    assert spread[:, : SIZE // 2].max() < 0.1 and spread[:, SIZE // 2:].min() > 0.9
    alone = fit(0.0)
    assert ((alone - 0.5).abs() < 1e-6).sum() == SIZE * SIZE - 2  # no pixel learnt but the two labelled ones


def test_no_term_for_dense_labels_zero_weight_or_volumes():
    image = _two_halves()
    logits = torch.randn(1, 2, SIZE, SIZE)
    dense = torch.zeros(1, SIZE, SIZE, dtype=torch.long)
    sparse = torch.full((1, SIZE, SIZE), -1)
    assert smoothness_term(logits, image, dense, 1.0, 0.5) == 0.0
    assert smoothness_term(logits, image, sparse, 0.0, 0.5) == 0.0
    volume = torch.randn(1, 2, 3, SIZE, SIZE)
    assert smoothness_term(volume, image[:, :, None].expand(1, 1, 3, SIZE, SIZE), sparse[:, None].expand(1, 3, SIZE, SIZE),
                           1.0, 0.5) == 0.0
    term = smoothness_term([logits * 0, logits], image, sparse, 2.0, 0.5)  # deep supervision: the final output
    assert term.item() == pytest.approx(2.0 * smoothness_loss(logits, image, 0.5).item(), rel=1e-6)


def test_the_two_class_shortcut_is_the_general_formula():
    image = _two_halves()
    logits = torch.randn(1, 2, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    with_empty_class = torch.cat([logits, torch.full((1, 1, SIZE, SIZE), -1e4)], dim=1)  # a third class, p = 0
    assert smoothness_loss(with_empty_class, image, 0.5).item() == pytest.approx(
        smoothness_loss(logits, image, 0.5).item(), rel=1e-5)


def test_same_meaning_on_any_intensity_scale():
    image = _two_halves()
    logits = torch.randn(1, 2, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    assert smoothness_loss(logits, 100 * image + 7, 0.5).item() == pytest.approx(
        smoothness_loss(logits, image, 0.5).item(), rel=1e-4)


def test_the_blur_averages_noise_out_and_keeps_edges_and_level():
    image = _two_halves()
    blurred = gaussian_blur(image, 1.0)
    assert blurred.shape == image.shape and torch.equal(gaussian_blur(image, 0.0), image)
    assert blurred.mean().item() == pytest.approx(image.mean().item(), abs=1e-3)
    left, right = blurred[..., 2:SIZE // 2 - 4], blurred[..., SIZE // 2 + 4:-2]
    assert left.std() < 0.5 * image[..., 2:SIZE // 2 - 4].std()
    assert right.mean() - left.mean() > 0.95
    constant = torch.full((2, 3, 8, 8), 0.3)
    assert torch.allclose(gaussian_blur(constant, 2.5), constant)  # a kernel wider than the patch


def test_affinities_on_the_blurred_image_pull_harder_inside_noisy_regions():
    """Two classes split a noisy half down its middle: that costs more when likeness is read on the blurred
    image, where the half's noise no longer looks like edges; the true edge stays cheap."""
    generator = torch.Generator().manual_seed(3)
    image = _two_halves() + 0.3 * torch.randn(1, 1, SIZE, SIZE, generator=generator)
    columns = torch.arange(SIZE).expand(SIZE, SIZE)
    split_inside = _confident((columns >= SIZE // 4) & (columns < SIZE // 2))
    along_edge = _confident(columns >= SIZE // 2)
    plain = smoothness_loss(split_inside, image, 0.5).item()
    blurred = smoothness_loss(split_inside, image, 0.5, blur=1.0).item()
    assert blurred > 1.2 * plain
    assert smoothness_loss(along_edge, image, 0.5, blur=1.0).item() < 0.5 * blurred


@pytest.mark.parametrize("changes", [{"smoothness_weight": -1.0}, {"smoothness_sigma": 0.0},
                                     {"smoothness_blur": -1.0}])
def test_bad_smoothness_settings_are_refused(changes):
    with pytest.raises(TrainingError, match="smoothness"):
        TrainConfig(**changes)


def test_trainer_with_smoothness_trains_on_sparse_labels(tmp_path):
    config = tiny_config(epochs=2, steps_per_epoch=5, smoothness_weight=2.0)
    trainer = Trainer(TINY_MODEL, config, scribbled_items(), [], CLASSES, tmp_path / "m.pt")
    finished = list(trainer.iter_fit())[-1]
    assert isinstance(finished, TrainingFinished) and finished.checkpoint_path.exists()
    assert all(math.isfinite(loss) for loss in finished.history["train_loss"])


def test_only_scribbled_runs_get_the_term(tmp_path):
    """Dense masks never use it, though augmentation's warps leave unlabelled pixels at patch edges."""
    dense = Trainer(TINY_MODEL, tiny_config(smoothness_weight=3.0), blob_items(2), [], CLASSES, tmp_path / "d.pt")
    sparse = Trainer(TINY_MODEL, tiny_config(smoothness_weight=3.0), scribbled_items(), [], CLASSES,
                     tmp_path / "s.pt")
    for trainer in (dense, sparse):
        list(trainer.iter_fit())
    assert dense.smoothness_weight == 0.0 and sparse.smoothness_weight == 3.0
    assert labels_are_sparse(scribbled_items()) and not labels_are_sparse(blob_items(2))
