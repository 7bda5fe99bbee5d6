"""3-D exports: multi-page TIFF masks and instance labels (Fiji and napari open them as Z stacks), and
per-object measurements with volume (voxels, and um^3 when the voxel size is known) as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from skimage.measure import regionprops_table

from unet_studio.core.atomic import atomic_write_bytes, atomic_write_text
from unet_studio.export.errors import ExportError

VOLUME_COLUMNS = ("image", "label", "class", "volume_voxels", "volume_um3", "centroid_z", "centroid_y",
                  "centroid_x", "bbox_min_z", "bbox_min_y", "bbox_min_x", "bbox_max_z", "bbox_max_y", "bbox_max_x",
                  "mean_intensity")


def encode_volume_tiff(labels: np.ndarray, voxel_size_um: Sequence[float] | None = None) -> bytes:
    """An ImageJ hyperstack TIFF (axes ZYX, zlib) of uint8/uint16 labels, with the voxel size when known;
    uint32 labels (past 65535 objects) as a plain multi-page TIFF, which ImageJ cannot hold."""
    buffer = io.BytesIO()
    if labels.dtype == np.uint32:
        tifffile.imwrite(buffer, labels, photometric="minisblack", compression="zlib", metadata=None)
        return buffer.getvalue()
    metadata: dict[str, Any] = {"axes": "ZYX"}
    resolution = None
    if voxel_size_um:
        z, y, x = (float(v) for v in voxel_size_um)
        metadata.update(spacing=z, unit="um")
        resolution = (1.0 / x, 1.0 / y)
    tifffile.imwrite(buffer, labels, imagej=True, metadata=metadata, resolution=resolution, compression="zlib")
    return buffer.getvalue()


def write_volume_labels(path: str | Path, labels: np.ndarray,
                        voxel_size_um: Sequence[float] | None = None) -> Path:
    """Write a (Z, H, W) mask (0 background, 1..K) or instance labels (0 background, 1..N) as a multi-page
    TIFF, atomically: uint8 up to 255, uint16 up to 65535, else uint32."""
    path = Path(path)
    values = np.asarray(labels)
    if values.ndim != 3 or values.dtype.kind not in "uib":
        raise ExportError(path, f"volume labels must be integer (Z, H, W), got {values.dtype} {values.shape}")
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise ExportError(path, f"volume labels are written as TIFF, not {path.suffix!r}")
    if values.size and int(values.min()) < 0:
        raise ExportError(path, "volume labels must not be negative")
    top = int(values.max(initial=0))
    dtype = np.uint8 if top <= 255 else np.uint16 if top <= np.iinfo(np.uint16).max else np.uint32
    atomic_write_bytes(path, encode_volume_tiff(values.astype(dtype), voxel_size_um))
    return path


def measure_volume(instances: np.ndarray, intensity: np.ndarray | None = None,
                   classes_mask: np.ndarray | None = None, class_names: Sequence[str] | None = None,
                   voxel_size_um: Sequence[float] | None = None, image_name: str = "") -> list[dict[str, Any]]:
    """One row per object of (Z, H, W) instance labels: volume in voxels (and um^3 with a voxel size),
    centroid and bounding box in voxels, the majority class of `classes_mask`, the mean of `intensity`
    ((Z, H, W) or (Z, H, W, C): its first channel) when given."""
    labels = np.asarray(instances)
    if labels.ndim != 3:
        raise ValueError(f"instances must be (Z, H, W), got shape {labels.shape}")
    properties = ["label", "area", "centroid", "bbox"]
    pixels = None
    if intensity is not None:
        pixels = np.asarray(intensity, np.float64)
        pixels = pixels[..., 0] if pixels.ndim == 4 else pixels
        if pixels.shape != labels.shape:
            raise ValueError(f"intensity shape {pixels.shape} does not match labels {labels.shape}")
        properties.append("intensity_mean")
    table = regionprops_table(labels.astype(np.int64), intensity_image=pixels, properties=properties)
    voxel_um3 = float(np.prod(voxel_size_um)) if voxel_size_um else None
    classes = _majority(labels, classes_mask)
    rows = []
    for i, label in enumerate(table["label"]):
        voxels = float(table["area"][i])
        value = classes.get(int(label), 1)
        row = {"image": image_name, "label": int(label),
               "class": class_names[value] if class_names and value < len(class_names) else f"class {value}",
               "volume_voxels": voxels, "volume_um3": "" if voxel_um3 is None else voxels * voxel_um3}
        row.update({f"centroid_{a}": float(table[f"centroid-{k}"][i]) for k, a in enumerate("zyx")})
        row.update({f"bbox_min_{a}": int(table[f"bbox-{k}"][i]) for k, a in enumerate("zyx")})
        row.update({f"bbox_max_{a}": int(table[f"bbox-{k + 3}"][i]) for k, a in enumerate("zyx")})
        row["mean_intensity"] = "" if pixels is None else float(table["intensity_mean"][i])
        rows.append(row)
    return rows


def _majority(labels: np.ndarray, classes_mask: np.ndarray | None) -> dict[int, int]:
    """Label -> most frequent non-zero class under it (1 without a mask)."""
    if classes_mask is None:
        return {}
    inside = (labels > 0) & (classes_mask > 0)
    n_classes = int(classes_mask.max(initial=0)) + 1
    counts = np.bincount(labels[inside].astype(np.int64) * n_classes + classes_mask[inside],
                         minlength=(int(labels.max(initial=0)) + 1) * n_classes).reshape(-1, n_classes)
    return {i: int(counts[i].argmax()) for i in range(counts.shape[0]) if counts[i].any()}


def write_volume_measurements(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Rows of one or several volumes as CSV with a header, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(VOLUME_COLUMNS), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(Path(path), buffer.getvalue())
    return Path(path)
