"""ImageJ/Fiji ROI sets: one polygon ROI per object (reading them back is io/imagej_rois.py)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import roifile
from roifile import ROI_TYPE

from unet_studio.core.atomic import atomic_writer
from unet_studio.export.errors import ExportError
from unet_studio.export.objects import check_instances, majority_classes, object_polygons
from unet_studio.export.styles import resolve_classes


def instance_rois(instances: np.ndarray, classes_mask: np.ndarray | None = None,
                  classes: Sequence[Any] | None = None) -> list[roifile.ImagejRoi]:
    """One ImageJ polygon ROI per object, named "<class>-<label>", in ImageJ pixel coordinates."""
    labels = check_instances(instances)
    class_of = majority_classes(labels, classes_mask)
    styles = resolve_classes(classes, max(class_of.values(), default=0))
    rois = []
    for label, ring in object_polygons(labels).items():
        style = styles[class_of[label]]
        roi = roifile.ImagejRoi.frompoints(ring[:-1], name=f"{style.name}-{label}")
        roi.roitype = ROI_TYPE.POLYGON
        roi.stroke_color = bytes((255, *style.color))
        rois.append(roi)
    return rois


def write_imagej_rois(path: str | Path, instances: np.ndarray, classes_mask: np.ndarray | None = None,
                      classes: Sequence[Any] | None = None) -> Path:
    """Write the objects as an ImageJ ROI zip (Fiji: File > Open, or the ROI Manager), atomically."""
    path = Path(path)
    if path.suffix.lower() != ".zip":
        raise ExportError(path, f"an ImageJ ROI set is a .zip, not {path.suffix!r}")
    try:
        rois = instance_rois(instances, classes_mask, classes)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
    with atomic_writer(path) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for roi in rois:
            archive.writestr(f"{roi.name}.roi", roi.tobytes())
    return path
