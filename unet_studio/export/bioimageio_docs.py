"""What a bioimage.io package shows people: its test image (a real training image when one is reachable),
cover picture and README with the "Validation" section the spec asks for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unet_studio import __version__
from unet_studio.core.checksums import file_sha256
from unet_studio.core.errors import StudioError
from unet_studio.core.images import read_image
from unet_studio.core.normalize import to_display_uint8, percentile_range
from unet_studio.core.project import MANIFEST_NAME, Project
from unet_studio.models.checkpoint import Checkpoint
from unet_studio.models.config import ARCH_TITLES

UNET_PAPER = ("Ronneberger O., Fischer P., Brox T. (2015). U-Net: Convolutional Networks for Biomedical Image "
              "Segmentation. MICCAI 2015, LNCS 9351, 234-241.", "10.1007/978-3-319-24574-4_28")
MAX_TEST_SIDE = 256


@dataclass(frozen=True)
class TestImage:
    """The raw pixels (H, W, C) the test tensors are made from, and where they came from."""

    pixels: np.ndarray
    source: str
    real: bool


def _reachable_training_images(checkpoint: Checkpoint, training: Sequence[tuple[str, str]]) -> list[Path]:
    """Training images the checkpoint names that are still on disk with the same SHA-256: looked up in the
    project the checkpoint lives in (models/<file>.pt of a project folder)."""
    wanted = dict(training)
    for folder in list(checkpoint.path.resolve().parents)[:2]:
        if not (folder / MANIFEST_NAME).is_file():
            continue
        try:
            project = Project.open(folder)
        except StudioError:
            return []
        paths = [project.image_path(record.id) for record in project.images]
        return [p for p in paths if p.name in wanted and p.is_file() and file_sha256(p) == wanted[p.name]]
    return []


def synthetic_image(channels: int, size: int = 128, seed: int = 0) -> np.ndarray:
    """Bright blurred discs on a noisy background, uint16 (size, size, channels)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.zeros((size, size), np.float64)
    for _ in range(8):
        cy, cx, radius = rng.uniform(10, size - 10), rng.uniform(10, size - 10), rng.uniform(5, 12)
        image += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2)) * 800
    planes = [image * (1.0 - 0.2 * c) + rng.normal(200, 20, image.shape) for c in range(channels)]
    return np.clip(np.stack(planes, axis=-1), 0, 65535).astype(np.uint16)


def choose_test_image(checkpoint: Checkpoint, training: Sequence[tuple[str, str]],
                      given: str | Path | None = None) -> TestImage:
    """`given`, else the first reachable training image, else a synthetic one (said so in the README)."""
    channels = checkpoint.model_config.in_channels
    candidates = [Path(given)] if given is not None else _reachable_training_images(checkpoint, training)
    for path in candidates:
        pixels = read_image(path).pixels
        if pixels.shape[2] != channels:
            if given is not None:
                raise StudioError(path, f"image has {pixels.shape[2]} channel(s) but the model expects {channels}")
            continue
        return TestImage(pixels, path.name, real=True)
    return TestImage(synthetic_image(channels), "synthetic", real=False)


def crop_for_test(pixels: np.ndarray, minimum: int, step: int) -> np.ndarray:
    """A centre crop whose sides are valid input sizes (minimum + n * step, at most MAX_TEST_SIDE); an image
    smaller than `minimum` is reflected up to it."""
    height, width = pixels.shape[:2]
    if min(height, width) < minimum:
        pad = ((0, max(0, minimum - height)), (0, max(0, minimum - width)), (0, 0))
        pixels = np.pad(pixels, pad, mode="symmetric")
        height, width = pixels.shape[:2]

    def side(size: int) -> int:
        return minimum + (min(size, max(MAX_TEST_SIDE, minimum)) - minimum) // step * step

    crop_h, crop_w = side(height), side(width)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return np.ascontiguousarray(pixels[top : top + crop_h, left : left + crop_w])


def _hex_color(text: str | None, fallback: tuple[int, int, int]) -> tuple[int, int, int]:
    if isinstance(text, str) and len(text) == 7 and text.startswith("#"):
        try:
            return tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            pass
    return fallback


def write_cover(path: Path, pixels: np.ndarray, probabilities: np.ndarray, classes: Sequence[dict]) -> Path:
    """A 2:1 PNG: the test image (first channel, auto-contrast) beside the predicted classes in their colours."""
    lo, hi = percentile_range(pixels[:, :, :1])
    grey = to_display_uint8(pixels[:, :, :1], lo, hi)[:, :, 0]
    labels = probabilities.argmax(axis=0)
    colours = np.zeros((probabilities.shape[0], 3), np.uint8)
    for index in range(1, probabilities.shape[0]):
        info = classes[index] if index < len(classes) else {}
        colours[index] = _hex_color(info.get("color"), (255, 64, 64))
    rgb = np.concatenate([np.repeat(grey[:, :, None], 3, axis=2), colours[labels]], axis=1)
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    return path


def _metric_lines(metrics: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in sorted(metrics.items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lines.append(f"| {key} | {value:.4f} |")
    return lines


def readme(checkpoint: Checkpoint, name: str, description: str, test: TestImage,
           training: Sequence[tuple[str, str]], halo: int, minimum: int, step: int) -> str:
    """The package's README.md (documentation), with a "## Validation" section from the checkpoint."""
    config = checkpoint.model_config
    norm = checkpoint.normalization
    classes = ", ".join(f"{index} = {c.get('name')}" for index, c in enumerate(checkpoint.classes))
    validation = checkpoint.history.get("validation_images") or []
    metric_rows = _metric_lines(checkpoint.metrics)
    lines = [
        f"# {name}", "", description, "",
        f"Trained and exported with UNet Studio {__version__}: a {ARCH_TITLES.get(config.arch, config.arch)} "
        f"(depth {config.depth}, {config.base_channels} base channels, {config.norm} norm, 'same' padding).", "",
        "## Input and output", "",
        f"* Input `raw`: float32 (batch, channel, y, x), {config.in_channels} channel(s), any height and width of "
        f"{minimum} + n * {step} pixels (the network pads to its pooling multiple inside).",
        f"* Pre-processing: `scale_range` per image and channel (percentiles {norm.get('low', 0.5)} and "
        f"{norm.get('high', 99.5)} over y and x map to 0 and 1), then `clip` to [-0.5, 1.5]. This is UNet Studio's "
        "own normalisation, except that UNet Studio also sets non-finite pixels (NaN, inf) to 0, which the "
        "spec cannot express: give these weights finite pixels. UNet Studio takes the percentiles of the whole "
        "image (of about a million pixels sampled from larger ones), so tile-wise normalisation in another tool "
        "can differ a little.",
        f"* Output `probabilities`: float32 (batch, channel, y, x), softmax over {config.num_classes} channels "
        f"({classes}); the argmax is a mask with 0 = background. Halo {halo} px: crop it from each tile's edges "
        "when tiling (UNet Studio blends tiles overlapping by twice that).",
        f"* Two-class foreground threshold chosen on validation: {checkpoint.threshold}"
        if checkpoint.threshold is not None else "* No threshold: take the argmax.",
        "", "## Validation", "",
    ]
    if metric_rows:
        lines += [f"Scores of the saved model on its {len(validation)} validation image(s) (the masks it makes, "
                  "pooled over their labelled pixels; mean_dice averages the object classes, background "
                  "excluded):", "", "| metric | value |", "|---|---|", *metric_rows, ""]
        if validation:
            lines += ["Validation images: " + ", ".join(f"`{v}`" for v in validation), ""]
    else:
        lines += ["The checkpoint recorded no validation scores (it was trained without validation images).", ""]
    lines += [
        "The test tensors are " + (f"a crop of the training image `{test.source}`." if test.real else
                                   "made from a synthetic image (no training image was reachable when exporting)."),
        "", "## Training data", "",
    ]
    if training:
        lines += ["| image | sha256 |", "|---|---|", *[f"| `{n}` | `{s}` |" for n, s in training], ""]
    else:
        lines += ["The checkpoint does not name its training images.", ""]
    lines += ["## Cite", "", f"* {UNET_PAPER[0]} doi:{UNET_PAPER[1]}",
              f"* UNet Studio {__version__}, which trained and exported this model.", ""]
    return "\n".join(lines)
