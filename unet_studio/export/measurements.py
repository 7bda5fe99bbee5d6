"""Per-object measurements (area, shape, intensity per channel) as rows and CSV, via regionprops_table."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from skimage.measure import regionprops_table

from unet_studio.core.atomic import atomic_write_text
from unet_studio.export.errors import ExportError
from unet_studio.export.objects import check_instances, majority_classes
from unet_studio.export.styles import resolve_classes

GEOMETRY = ("label", "area", "perimeter", "centroid", "bbox", "eccentricity", "solidity")
INTENSITY = ("intensity_mean", "intensity_min", "intensity_max")
BASE_COLUMNS = ("image", "label", "class", "area_px", "area_um2", "perimeter_px", "perimeter_um",
                "centroid_y", "centroid_x", "bbox_min_row", "bbox_min_col", "bbox_max_row", "bbox_max_col",
                "eccentricity", "solidity")


def _intensity_image(intensity: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    if intensity is None:
        return None
    pixels = np.asarray(intensity)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[:2] != shape:
        raise ValueError(f"intensity shape {pixels.shape} does not match labels shape {shape} (+ channels)")
    return pixels.astype(np.float64)


def measure(instances: np.ndarray, intensity: np.ndarray | None = None, classes_mask: np.ndarray | None = None,
            class_names: Sequence[Any] | None = None, pixel_size_um: float | None = None,
            image_name: str = "") -> list[dict[str, Any]]:
    """One row per object, ordered by label.

    `intensity` is the image's (H, W, C) pixels (mean/min/max per channel, columns `mean_c0`...);
    `classes_mask` a conventional mask whose majority value under an object gives its class;
    `pixel_size_um` fills the um columns (left empty when unknown).
    """
    labels = check_instances(instances)
    pixels = _intensity_image(intensity, labels.shape)
    properties = GEOMETRY + (INTENSITY if pixels is not None else ())
    table = regionprops_table(labels, intensity_image=pixels, properties=properties)
    class_of = majority_classes(labels, classes_mask)
    styles = resolve_classes(class_names, max(class_of.values(), default=0))
    n_channels = 0 if pixels is None else pixels.shape[2]
    rows = []
    for i, label in enumerate(table["label"]):
        area, perimeter = float(table["area"][i]), float(table["perimeter"][i])
        row: dict[str, Any] = {
            "image": image_name, "label": int(label), "class": styles[class_of[int(label)]].name,
            "area_px": area, "area_um2": "" if pixel_size_um is None else area * pixel_size_um**2,
            "perimeter_px": perimeter, "perimeter_um": "" if pixel_size_um is None else perimeter * pixel_size_um,
            "centroid_y": float(table["centroid-0"][i]), "centroid_x": float(table["centroid-1"][i]),
            "bbox_min_row": int(table["bbox-0"][i]), "bbox_min_col": int(table["bbox-1"][i]),
            "bbox_max_row": int(table["bbox-2"][i]), "bbox_max_col": int(table["bbox-3"][i]),
            "eccentricity": float(table["eccentricity"][i]), "solidity": float(table["solidity"][i]),
        }
        for c in range(n_channels):
            for stat in ("mean", "min", "max"):
                row[f"{stat}_c{c}"] = float(table[f"intensity_{stat}-{c}"][i])
        rows.append(row)
    return rows


def measurement_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The CSV header: the fixed columns, then every intensity column in first-seen order."""
    columns = list(BASE_COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


def write_measurements_csv(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows (from one or several images) as CSV with a header, atomically."""
    path = Path(path)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=measurement_columns(rows), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
    return path


def measure_or_raise(path: str | Path, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """measure(), with a shape or dtype problem reported as ExportError naming `path`."""
    try:
        return measure(*args, **kwargs)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
