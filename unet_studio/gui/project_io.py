"""Opening projects from the command line, dialogs and the welcome page."""

from __future__ import annotations

from pathlib import Path

from unet_studio.core.errors import ProjectError
from unet_studio.core.images import list_images
from unet_studio.core.project import MANIFEST_NAME, Project


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
