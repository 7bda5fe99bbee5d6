"""Opening projects from the command line, dialogs and the welcome page, and the demo project."""

from __future__ import annotations

from pathlib import Path

import unet_studio
from unet_studio.core.errors import ProjectError
from unet_studio.core.images import list_images
from unet_studio.core.project import MANIFEST_NAME, Project


def sample_folder() -> Path:
    """The bundled sample (resources/sample: images/ and masks/)."""
    return Path(unet_studio.__file__).resolve().parents[1] / "resources" / "sample"


def default_demo_folder() -> Path:
    """Where the writable demo copy lives: ~/unet-studio-demo, as for `unet-studio demo`."""
    return Path.home() / "unet-studio-demo"


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


def make_demo_project(folder: Path) -> Project:
    """Open the demo project in `folder`, making it first from the bundled sample (copied, never written):
    the same project `unet-studio demo` makes (four images labelled from their masks, two to predict)."""
    from unet_studio.cli.demo import prepare_demo_project  # lazy: it pulls in torch

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(folder, f"cannot create the demo folder ({exc.strerror or exc})") from exc
    return prepare_demo_project(folder, sample_folder())
