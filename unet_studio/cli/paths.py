"""Checks the commands make on their input and output paths before any work, so a mistake costs no data.

* `refuse_writing_inputs`: an output folder that is, or holds, an input file is refused up front.
* `output_names`: one output name per input; inputs whose stems collide (a.png, a.PNG, a.tif) keep their
  whole file name (a.png.png, a.PNG.png, a.tif.png) so no output overwrites another.
* `unusable_links`: image-named symbolic links that lead nowhere (a loop, a missing target), which a
  folder listing passes over, as one-line problems.
"""

from __future__ import annotations

import errno
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from unet_studio.core.errors import StudioError
from unet_studio.core.images import IMAGE_SUFFIXES, file_stem


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop on older Pythons
        return path.absolute()


def refuse_writing_inputs(out: str | os.PathLike, inputs: Sequence[Path], targets: Iterable[Path] = (),
                          what: str = "input image") -> None:
    """StudioError if `out` is an input file, is the folder an input lives in, or a target is an input."""
    out = Path(out)
    originals = {_resolved(p): p for p in inputs}
    if _resolved(out) in originals:
        raise StudioError(out, f"is an {what}, not an output folder; originals are never written")
    folders = {_resolved(p.parent) for p in inputs}
    if _resolved(out) in folders:
        raise StudioError(out, f"is the folder of the {what}s; choose another output folder "
                               "(originals are never written)")
    hits = [t for t in targets if _resolved(t) in originals]
    if hits:
        shown = ", ".join(str(t) for t in hits[:3]) + (f" and {len(hits) - 3} more" if len(hits) > 3 else "")
        raise StudioError(out, f"output would overwrite the {what} {shown}; choose another output folder")


def output_names(images: Sequence[Path]) -> tuple[dict[Path, str], list[list[Path]]]:
    """Base name of each image's output, and the groups of images whose stems collide (ignoring case,
    as some file systems do): those are named by their whole file name instead of their stem."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for image in images:
        groups[file_stem(image).casefold()].append(image)
    collisions = [group for group in groups.values() if len(group) > 1]
    names = {image: image.name if len(groups[file_stem(image).casefold()]) > 1 else file_stem(image)
             for image in images}
    taken: dict[str, Path] = {}
    for image, name in names.items():  # e.g. a.png beside a.png.png, whose stem is "a.png"
        if name in taken:
            raise StudioError(image, f"its output name {name!r} is also that of {taken[name].name}; rename one")
        taken[name] = image
    return names, collisions


def describe_collision(group: Sequence[Path], suffix: str) -> str:
    """One line: which files share a stem and what their outputs are called."""
    files = ", ".join(p.name for p in group)
    outputs = ", ".join(f"{p.name}{suffix}" for p in group)
    return f"{files} share the name {file_stem(group[0])!r}: their outputs keep the source suffix ({outputs})"


def unusable_links(folder: str | os.PathLike) -> list[str]:
    """One line per image-named symbolic link in `folder` that cannot be followed (loop or missing target)."""
    lines = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return lines
    for entry in entries:
        if not entry.is_symlink() or Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            os.stat(entry.path)
        except OSError as exc:
            reason = "symbolic link loop" if exc.errno == errno.ELOOP else "broken symbolic link (target missing)"
            lines.append(f"{entry.path}: {reason}, skipped")
    return lines
