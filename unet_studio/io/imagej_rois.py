"""Reading ImageJ / Fiji ROI sets (.zip or .roi) and painting their areas into an annotation (and, one id
per ROI, into an instance layer)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import roifile
from roifile import ROI_TYPE
from skimage.draw import polygon as fill_polygon

from unet_studio.core.errors import AnnotationError

AREA_TYPES = (ROI_TYPE.POLYGON, ROI_TYPE.RECT, ROI_TYPE.OVAL, ROI_TYPE.FREEHAND, ROI_TYPE.TRACED)


def read_imagej_rois(path: str | Path) -> list[roifile.ImagejRoi]:
    """Every ROI in a .zip set or a single .roi file; a damaged file raises AnnotationError."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "ROI file not found")
    try:
        rois = roifile.roiread(path)
    except (ValueError, OSError, zipfile.BadZipFile, IndexError, KeyError) as error:
        raise AnnotationError(path, f"not a readable ImageJ ROI file ({type(error).__name__})") from error
    return rois if isinstance(rois, list) else [rois]


def _roi_region(roi: roifile.ImagejRoi, shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centres lie inside the ROI; composite ROIs combine their paths even-odd (holes)."""
    region = np.zeros(shape, bool)
    paths = roi.coordinates(multi=True) if roi.multi_coordinates is not None else [roi.coordinates()]
    for xy in paths:
        part = np.zeros(shape, bool)
        rows, cols = fill_polygon(np.asarray(xy)[:, 1] - 0.5, np.asarray(xy)[:, 0] - 0.5, shape)
        part[rows, cols] = True
        region ^= part
    return region


def rois_to_annotation(zip_path: str | Path, shape: tuple[int, int], class_value: int,
                       background_value: int = 0) -> np.ndarray:
    """Paint the area ROIs of an ImageJ ROI zip as `class_value` into a new annotation of `shape`.

    Pixels outside every ROI get `background_value` (0 = not labelled, 1 = background in the annotation
    convention). Line and point ROIs hold no area and are skipped.
    """
    zip_path = Path(zip_path)
    height, width = int(shape[0]), int(shape[1])
    if class_value < 1 or class_value > np.iinfo(np.uint16).max:
        raise AnnotationError(zip_path, f"class value {class_value} is outside 1..65535")
    dtype = np.uint8 if max(class_value, background_value) <= 255 else np.uint16
    objects = rois_to_objects(zip_path, (height, width))
    return np.where(objects > 0, class_value, background_value).astype(dtype)


def rois_to_objects(zip_path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """The area ROIs of an ImageJ ROI set as objects: uint32 (H, W), ROI k (in file order) = id k + 1, 0
    outside every ROI; where ROIs overlap the later one wins."""
    zip_path = Path(zip_path)
    area_rois = [roi for roi in read_imagej_rois(zip_path)
                 if roi.roitype in AREA_TYPES or roi.multi_coordinates is not None]
    if not area_rois:
        raise AnnotationError(zip_path, "holds no area ROIs (only lines or points)")
    objects = np.zeros((int(shape[0]), int(shape[1])), np.uint32)
    for object_id, roi in enumerate(area_rois, start=1):
        objects[_roi_region(roi, objects.shape)] = object_id
    return objects
