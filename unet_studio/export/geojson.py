"""QuPath GeoJSON: a FeatureCollection with one Polygon (with its holes) or MultiPolygon per object, in pixels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from unet_studio.core.atomic import atomic_write_json
from unet_studio.export.errors import ExportError
from unet_studio.export.measurements import measure
from unet_studio.export.objects import Shape, check_instances, majority_classes, object_shapes
from unet_studio.export.styles import resolve_classes

ObjectType = Literal["annotation", "detection"]


def closed_ring(xy: np.ndarray) -> list[list[float]]:
    """(N, 2) points as a GeoJSON linear ring: a list of [x, y] whose last point repeats the first."""
    points = [[float(x), float(y)] for x, y in xy]
    if points[0] != points[-1]:
        points.append(list(points[0]))
    return points


def shape_geometry(shapes: list[Shape]) -> dict[str, Any]:
    """A GeoJSON Polygon (outer ring, then holes) for a one-piece object, else a MultiPolygon."""
    polygons = [[closed_ring(shape.outer)] + [closed_ring(hole) for hole in shape.holes] for shape in shapes]
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


NOT_MEASUREMENTS = ("image", "label", "class")


def _csv_measurements(row: dict[str, Any]) -> dict[str, float]:
    """The CSV row's numeric columns (what `export --format csv` writes for the object), unknown ones left out."""
    return {key: float(value) for key, value in row.items()
            if key not in NOT_MEASUREMENTS and isinstance(value, (int, float)) and not isinstance(value, bool)}


def instance_features(instances: np.ndarray, classes_mask: np.ndarray | None = None,
                      classes: Sequence[Any] | None = None, object_type: ObjectType = "annotation",
                      pixel_size_um: float | None = None, intensity: np.ndarray | None = None) -> dict[str, Any]:
    """The FeatureCollection: properties objectType, classification {name, color}, label, measurements.

    Coordinates are pixels with (0, 0) at the top-left corner of the first pixel (QuPath's convention).
    Each object's measurements are its row of the measurements CSV (area, perimeter, centroid, box,
    eccentricity, solidity, and with `intensity` (the image's (H, W, C) pixels) mean/min/max per channel;
    um columns with `pixel_size_um`), plus QuPath-style "Area px^2" (and "Area um^2").
    """
    if object_type not in ("annotation", "detection"):
        raise ValueError(f"objectType must be 'annotation' or 'detection', got {object_type!r}")
    labels = check_instances(instances)
    class_of = majority_classes(labels, classes_mask)
    styles = resolve_classes(classes, max(class_of.values(), default=0))
    areas = np.bincount(labels.ravel())
    rows = {row["label"]: row for row in measure(labels, intensity, classes_mask, classes, pixel_size_um)}
    features = []
    for label, shapes in object_shapes(labels).items():
        style = styles[class_of[label]]
        measurements: dict[str, Any] = {"Area px^2": int(areas[label]), **_csv_measurements(rows[label])}
        if pixel_size_um is not None:
            measurements["Area um^2"] = float(areas[label] * pixel_size_um**2)
        features.append({
            "type": "Feature",
            "geometry": shape_geometry(shapes),
            "properties": {
                "objectType": object_type,
                "classification": {"name": style.name, "color": list(style.color)},
                "label": label,
                "measurements": measurements,
            },
        })
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if pixel_size_um is not None:
        collection["pixel_size_um"] = float(pixel_size_um)
    return collection


def write_geojson(path: str | Path, instances: np.ndarray, classes_mask: np.ndarray | None = None,
                  classes: Sequence[Any] | None = None, object_type: ObjectType = "annotation",
                  pixel_size_um: float | None = None, intensity: np.ndarray | None = None) -> Path:
    """Write the objects as QuPath GeoJSON (File > Import objects, or drag onto the image), atomically."""
    path = Path(path)
    try:
        collection = instance_features(instances, classes_mask, classes, object_type, pixel_size_um, intensity)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
    atomic_write_json(path, collection, indent=None)
    return path
