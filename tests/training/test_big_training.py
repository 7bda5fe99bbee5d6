"""Project training on big (lazy) images: their chunked labels train from patches read region by region
(a window of level 0 and one label chunk per patch, never the whole image), mixed with ordinary images in
one stream weighted by labelled pixels; big images marked 'val' are left out with one line."""

import numpy as np
import pytest
import torch

from tests.training.helpers import BIG_HEIGHT as HEIGHT, BIG_WIDTH as WIDTH, big_image_project, tiny_config
from unet_studio.cli.main import main
from unet_studio.core.project import Project
from unet_studio.data import lazy_patches
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.mixed_batches import MixedBatchSource, batch_source, check_items
from unet_studio.data.sampling import TrainItem
from unet_studio.io import multiscale_image
from unet_studio.models.config import ModelConfig
from unet_studio.training.api import iter_train_project
from unet_studio.training.big_source import labelled_chunks, open_big_item
from unet_studio.training.events import Log, TrainingFinished

pytest.importorskip("zarr")
TINY = ModelConfig(depth=2, base_channels=4)


@pytest.fixture
def reads(monkeypatch):
    """Every MultiscaleImage.read as (level, height, width); the percentile range is read from a level of at
    most 100 x 100 pixels, as a 50,000 x 50,000 image reads it from a level of at most 4096 x 4096."""
    monkeypatch.setattr(lazy_patches, "RANGE_PIXELS", 100 * 100)
    seen = []
    original = multiscale_image.MultiscaleImage.read

    def recording(self, level, y0, y1, x0, x1):
        block = original(self, level, y0, y1, x0, x1)
        seen.append((level, block.shape[0], block.shape[1]))
        return block

    monkeypatch.setattr(multiscale_image.MultiscaleImage, "read", recording)
    return seen


def test_project_training_reads_only_windows_of_a_big_image(tmp_path, reads):
    project, _ = big_image_project(tmp_path)
    reads.clear()  # convert_to_ome_zarr read the TIFF through it
    config = tiny_config(epochs=2, steps_per_epoch=4, batch_size=4)
    events = list(iter_train_project(project, model_config=TINY, train_config=config))
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and finished.checkpoint_path is not None
    lines = [e.message for e in events if isinstance(e, Log)]
    assert "1 big image(s) train from patches read region by region" in lines
    window = 32 + 2 * 16  # patch 32 with context 16 each side (margin 0)
    level0 = [(h, w) for level, h, w in reads if level == 0]
    assert level0 and all(h <= window and w <= window for h, w in level0)
    assert all(h * w <= 100 * 100 for level, h, w in reads if level > 0)
    history = torch.load(finished.checkpoint_path, weights_only=True)["history"]
    names = [entry["name"] for entry in history["images"]]
    assert "big.ome.zarr" in names and "big.ome.zarr" not in history["validation_images"]
    assert {"name": "big.ome.zarr", "height": HEIGHT, "width": WIDTH} in history["images"]


def test_a_big_image_alone_trains_and_its_chunks_are_weighed_from_the_index(tmp_path, reads):
    project, annotation = big_image_project(tmp_path, small=False)
    item = open_big_item(project.image_path("big"), project.chunked_labels_folder("big"), {"low": 0.5, "high": 99.5})
    assert labelled_chunks(item.labels) == [(0, 0), (3, 2), (5, 4), (5, 5)]
    np.testing.assert_array_equal(item.class_counts(), [(annotation == 1).sum(), (annotation == 2).sum()])
    events = list(iter_train_project(project, model_config=TINY, train_config=tiny_config(epochs=1)))
    assert isinstance(events[-1], TrainingFinished) and events[-1].checkpoint_path is not None
    assert any("no validation image" in e.message for e in events if isinstance(e, Log))


def test_a_big_image_marked_val_is_left_out_with_one_line(tmp_path, reads):
    project, _ = big_image_project(tmp_path, big_split="val")
    reads.clear()
    events = list(iter_train_project(project, model_config=TINY, train_config=tiny_config(epochs=1)))
    lines = [e.message for e in events if isinstance(e, Log)]
    assert sum("big image(s) marked 'val' left out (big.ome.zarr)" in line for line in lines) == 1
    assert not reads  # neither trained on nor validated: never opened for pixels
    history = torch.load(events[-1].checkpoint_path, weights_only=True)["history"]
    assert "big.ome.zarr" not in [entry["name"] for entry in history["images"]]


def test_mixed_batches_weigh_every_labelled_pixel_alike(tmp_path):
    """A class labelled only in the big image still trains; the share of patches from each kind follows
    the labelled pixels; counts are the sums of both kinds."""
    project, annotation = big_image_project(tmp_path, small=False)
    big = open_big_item(project.image_path("big"), project.chunked_labels_folder("big"), {"low": 0.5, "high": 99.5})
    small_target = np.zeros((96, 96), np.int64)  # background only: the object class comes from the big image
    small = TrainItem(np.zeros((1, 96, 96), np.float32), small_target, name="small")
    source = batch_source([small, big], 16, 8, 0, AugmentConfig.preset("none"))
    assert isinstance(source, MixedBatchSource)
    np.testing.assert_array_equal(source.counts, [(annotation == 1).sum() + 96 * 96, (annotation == 2).sum()])
    batches = [source.next_batch() for _ in range(100)]
    targets = np.concatenate([b.targets for b in batches])
    assert (targets[:, 8, 8] == 1).sum() > 0.3 * len(targets)  # the object class, about half the centres
    from_small = sum(int((b.images == 0).all(axis=(1, 2, 3)).sum()) for b in batches)
    small_pixels = 96 * 96
    background_share = small_pixels / (small_pixels + (annotation == 1).sum())
    labelled_share = small_pixels / (small_pixels + (annotation > 0).sum())
    expected = 0.45 * background_share + 0.1 * labelled_share  # class 0 drawn, or anywhere (labelled_bias 0.9)
    assert from_small / len(targets) == pytest.approx(expected, abs=0.05)


def test_check_items_refuses_a_big_validation_image_and_counts_chunks(tmp_path):
    project, _ = big_image_project(tmp_path, small=False)
    big = open_big_item(project.image_path("big"), project.chunked_labels_folder("big"), {"low": 0.5, "high": 99.5})
    model = ModelConfig(in_channels=1, num_classes=2, depth=2, base_channels=4)
    np.testing.assert_array_equal(check_items([big], [], model, "out"), big.class_counts())
    with pytest.raises(Exception, match="cannot be a validation image"):
        check_items([big], [big], model, "out")
    with pytest.raises(Exception, match="1 channel.*the model expects 2"):
        check_items([big], [], ModelConfig(in_channels=2, num_classes=2, depth=2, base_channels=4), "out")


def test_train_project_on_the_command_line_uses_the_big_image(tmp_path, reads, capsys):
    project, _ = big_image_project(tmp_path)
    reads.clear()
    code = main(["train", str(project.folder), "--preset", "fast", "--max-steps", "2", "--steps-per-epoch", "2",
                 "--batch-size", "2", "--patch-size", "32", "--device", "cpu", "--no-amp", "--augment", "none"])
    output = capsys.readouterr()
    assert code == 0, output.err
    assert "1 big image(s) train from patches read region by region" in output.out + output.err
    assert reads and all(h <= 64 and w <= 64 for level, h, w in reads if level == 0)
    assert len(Project.open(project.folder).models) == 1
