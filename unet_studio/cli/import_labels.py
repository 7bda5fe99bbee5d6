"""`unet-studio import-labels PROJECT --labels DIR`: existing masks, instances or ROI zips as annotations."""

from __future__ import annotations

import argparse
from pathlib import Path

from unet_studio.cli.output import info, problem
from unet_studio.core.errors import StudioError
from unet_studio.core.project import Project
from unet_studio.io.annotation_import import KINDS, import_annotations


def add_parser(sub) -> None:
    p = sub.add_parser("import-labels", help="import existing masks, instance labels or ImageJ ROI zips "
                                             "into a project as annotations")
    p.add_argument("project", help="project folder (or a folder of images, which becomes a project)")
    p.add_argument("--labels", required=True, help="folder of label files named after the images (a stack's: "
                                                  "a multi-page TIFF, one page per plane)")
    p.add_argument("--kind", choices=KINDS, default="mask",
                   help="mask: 0 background, 1..K classes (default); instances: 0 background, object ids; "
                        "annotation: 0 unlabelled, 1 background, 2.. classes; roi: <stem>.zip ImageJ ROIs")
    p.add_argument("--class-value", type=int, default=2,
                   help="annotation class for instances and ROIs (default 2, the first object class)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    labels, own = Path(args.labels).resolve(), (Path(args.project) / "annotations").resolve()  # the project layout
    if labels == own:
        raise StudioError(args.labels, "is the project's own annotations folder, which the import writes; "
                                       "import from a copy or another folder")
    project = Project.open_or_create(args.project)
    imported, problems = import_annotations(project, args.labels, args.kind, args.class_value)
    for line in problems:
        problem(line)
    info(f"imported labels for {len(imported)} image(s) into {project.folder}")
    return 1 if problems else 0
