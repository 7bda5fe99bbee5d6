"""Shared test set-up. Qt must be told to run offscreen before anything imports it."""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The precision probe's cache (unet_studio.runtime.cache) goes to a folder of this test run, never the user's.
os.environ["UNET_STUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="unet-studio-test-cache-")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def single_torch_thread():
    """Torch on one thread in tests: on a shared 2-core machine, OpenMP threads spin-waiting for a busy core
    made small tests about ten times slower (and the GUI tests need the other core for the event loop)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def shared_data() -> Path:
    """The real datasets beside the checkout; skips the test when they are absent."""
    if not (SHARED_DATA / "isbi2012_em_membranes").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA


def make_blobs(size=(64, 64), n=6, radius=6, seed=0, noise=0.1, dtype=np.uint8):
    """Synthetic bright discs on a dark noisy background: (image (H, W), mask (H, W) with 0/1)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    mask = np.zeros((h, w), np.uint8)
    for _ in range(n):
        cy, cx = rng.integers(radius, h - radius), rng.integers(radius, w - radius)
        mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = 1
    image = 0.2 + 0.6 * mask + noise * rng.standard_normal((h, w))
    image = np.clip(image, 0, 1)
    if np.issubdtype(dtype, np.integer):
        image = (image * np.iinfo(dtype).max).astype(dtype)
    else:
        image = image.astype(dtype)
    return image, mask


@pytest.fixture
def blobs():
    """The make_blobs factory, for tests that need several synthetic images."""
    return make_blobs
