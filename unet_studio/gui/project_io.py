"""Opening projects from the command line, dialogs and the welcome page, and the demo project."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QStandardPaths

import unet_studio
from unet_studio.core.annotations import mask_to_annotation, read_annotation
from unet_studio.core.errors import ProjectError
from unet_studio.core.images import list_images
from unet_studio.core.project import MANIFEST_NAME, Project

DEMO_LABELLED = 4  # the demo starts with this many images labelled, the rest left to label or predict


def sample_folder() -> Path:
    """The bundled sample (resources/sample: images/ and masks/)."""
    return Path(unet_studio.__file__).resolve().parents[1] / "resources" / "sample"


def default_demo_folder() -> Path:
    """Where the writable demo copy lives (the user's application data folder)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".unet-studio") / "demo"


def open_or_create_project(path: str | Path) -> Project:
    """Open the project in `path`, or make a folder of images into one (ProjectError otherwise)."""
    folder = Path(path).expanduser()
    if folder.is_file():
        folder = folder.parent if folder.name == MANIFEST_NAME else folder
    if not folder.is_dir():
        raise ProjectError(folder, "not a folder (expected a project folder or a folder of images)")
    if not (folder / MANIFEST_NAME).exists() and not list_images(folder):
        raise ProjectError(folder, "no project.json and no images (.png, .jpg, .bmp, .tif) in this folder")
    return Project.open_or_create(folder)


def make_demo_project(folder: Path, sample: Path | None = None) -> Project:
    """Open the demo project in `folder`, first copying the sample there and importing some masks.

    The bundled files are never written: images are copied, masks imported as annotations (mask + 1).
    """
    folder = Path(folder)
    if (folder / MANIFEST_NAME).exists():
        return Project.open(folder)
    sample = sample or sample_folder()
    sources = list_images(sample / "images") if (sample / "images").is_dir() else []
    if not sources:
        raise ProjectError(sample, "the bundled sample is missing (no images in resources/sample/images)")
    try:
        (folder / "images").mkdir(parents=True, exist_ok=True)
        copies = [Path(shutil.copy2(source, folder / "images" / source.name)) for source in sources]
    except OSError as exc:
        raise ProjectError(folder, f"cannot copy the demo images ({exc.strerror or exc})") from exc
    project = Project.create(folder, copies, name="demo")
    for record in project.images[:DEMO_LABELLED]:
        mask_file = sample / "masks" / Path(record.path).name
        if mask_file.is_file():
            mask = read_annotation(mask_file, (record.height, record.width))
            project.save_annotation(record.id, mask_to_annotation(mask))
    return project
