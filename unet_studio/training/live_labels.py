"""The live training set: a snapshot's annotation files, watched between steps and re-read when they change.

Each poll stats every watched annotation (its .png or .tif: path, inode, mtime_ns, size) and re-reads only the
ones whose stamp moved; normalised images are read once and cached, so a stroke costs one annotation read.
An image joins when its annotation first holds a label, drops when it is erased or its file goes, and
moves when its split changes; a stack's file is one entry whose items are its labelled planes (a save of
one plane rewrites the file, so its planes are read again, their pixels from the cache); a new snapshot
(LiveControl.update_snapshot) adds and removes images.
Big images (chunked labels, painted in the tiled viewer) are watched through their store's index, which every
chunk save rewrites; they join as LazyTrainItems read region by region (training/big_source.py), opened once,
and like ordinary runs they train only when marked 'train' (a big 'val' image is left out).
Runs on the training thread and reads only files (annotations are replaced atomically by their writers).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_studio.core.annotations import annotation_file
from unet_studio.core.checksums import file_sha256
from unet_studio.core.chunked_labels import INDEX_NAME, ChunkedLabels
from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.core.images import read_image
from unet_studio.core.normalize import normalize_for_network
from unet_studio.data.lazy_patches import LazyTrainItem
from unet_studio.data.mixed_batches import is_lazy
from unet_studio.data.sampling import TrainItem
from unet_studio.training.big_source import big_image_record, labelled_chunks, open_big_item
from unet_studio.training.project_source import LabelledFile, ProjectSnapshot, read_items

Stamp = tuple[Path, int, int, int]  # annotation file, inode, mtime_ns, size (an atomic save makes a new inode)


@dataclass(frozen=True)
class LabelSet:
    """The training set after a poll that changed it. `changed`: image ids that joined, changed or dropped;
    `val_changed`: whether any of them is (or was) a validation image; `problems`: new one-line problems."""

    train: tuple[TrainItem, ...]
    val: tuple[TrainItem, ...]
    changed: tuple[str, ...]
    val_changed: bool
    problems: tuple[str, ...]
    sources: tuple[dict, ...]


@dataclass(frozen=True)
class _Entry:
    file: LabelledFile
    stamp: Stamp | None
    items: tuple[TrainItem, ...]  # one per labelled plane; () while all unlabelled
    problem: str | None


def image_id(file: LabelledFile) -> str:
    """The project's id of the image: its annotation file's stem (annotations/<id>.png)."""
    return file.annotation_path.with_suffix("").name


def _stamp(file: LabelledFile) -> Stamp | None:
    """The annotation file now (.png or .tif, whichever was saved last; a big image's chunk index) and its
    mtime and size, or None."""
    path = file.annotation_path / INDEX_NAME if file.chunked else annotation_file(file.annotation_path.with_suffix(""))
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:  # replaced or removed between the lookup and the stat: seen at the next poll
        return None
    return path, stat.st_ino, stat.st_mtime_ns, stat.st_size


class LiveLabels:
    """Watches the annotation files of a ProjectSnapshot (its labelled and its unlabelled train/val images)."""

    def __init__(self, snapshot: ProjectSnapshot, normalization: dict):
        self.normalization = normalization
        self.channels: int | None = None
        self.outputs: int | None = None
        self._entries: dict[str, _Entry] = {}
        self._images: dict[tuple[Path, int], tuple[np.ndarray, str]] = {}  # (file, plane) -> normalised, sha256
        self._big: dict[Path, LazyTrainItem] = {}  # big images opened (range measured) once
        self.set_snapshot(snapshot)

    def set_snapshot(self, snapshot: ProjectSnapshot) -> None:
        """Watch this snapshot's images from the next refresh on."""
        self._watched = {image_id(f): f for f in (*snapshot.images, *snapshot.unlabelled)}
        kept = {f.image_path for f in self._watched.values()}
        self._images = {key: value for key, value in self._images.items() if key[0] in kept}
        self._big = {path: item for path, item in self._big.items() if path in kept}

    @property
    def watched(self) -> int:
        return len(self._watched)

    def limit(self, channels: int, outputs: int) -> None:
        """Images read from now on must have `channels` channels and labels within `outputs` network classes."""
        self.channels, self.outputs = channels, outputs

    def refresh(self) -> LabelSet | None:
        """Re-read what changed since the last refresh; the new set, or None when nothing changed."""
        changed, problems, val_changed = [], [], False
        for key, file in self._watched.items():
            old, stamp = self._entries.get(key), _stamp(file)
            if old is not None and old.stamp == stamp and old.file == file:
                continue
            items, problem = self._read(file, stamp[0]) if stamp else ((), None)
            self._entries[key] = _Entry(file, stamp, items, problem)
            if problem and (old is None or old.problem != problem):
                problems.append(problem)
            if items or (old is not None and old.items):
                changed.append(key)
                val_changed |= file.split == "val" or (old is not None and old.file.split == "val")
        for key in set(self._entries) - set(self._watched):
            old = self._entries.pop(key)
            if old.items:
                changed.append(key)
                val_changed |= old.file.split == "val"
        if not changed and not problems:
            return None
        return self._label_set(tuple(sorted(changed)), val_changed, tuple(problems))

    def _label_set(self, changed: tuple[str, ...], val_changed: bool, problems: tuple[str, ...]) -> LabelSet:
        entries = [self._entries[key] for key in sorted(self._entries) if self._entries[key].items]
        train = tuple(item for e in entries if e.file.split == "train" for item in e.items)
        val = tuple(item for e in entries if e.file.split == "val" for item in e.items)
        hashes = {path: sha for (path, _plane), (_pixels, sha) in self._images.items()}
        sources = tuple(big_image_record(e.items[0]) if is_lazy(e.items[0]) else
                        {"name": e.file.image_path.name, "sha256": hashes[e.file.image_path]}
                        for e in entries if is_lazy(e.items[0]) or e.file.image_path in hashes)
        return LabelSet(train, val, changed, val_changed, problems, sources)

    def _read(self, file: LabelledFile, path: Path) -> tuple[tuple[TrainItem, ...], str | None]:
        """The image's TrainItems, one per labelled plane (() while all unlabelled; a big image's one
        LazyTrainItem), or a one-line problem."""
        if file.chunked:
            big, problem = self._read_big(file)
            return ((big,) if big is not None else ()), problem
        try:
            items = tuple(read_items(file, path, self.normalization, self._image))
            for item in items:
                self._check_fits(file, item.image.shape[0], int(item.target.max()))
        except StudioError as error:
            return (), str(error)
        return items, None

    def _read_big(self, file: LabelledFile) -> tuple[LazyTrainItem | None, str | None]:
        """A big 'train' image as a LazyTrainItem over its store as saved now (None while unlabelled or
        marked 'val'), or a one-line problem."""
        if file.split != "train":
            return None, None
        try:
            item = self._big.get(file.image_path)
            if item is None:
                item = open_big_item(file.image_path, file.annotation_path, self.normalization)
            else:
                item = dataclasses.replace(item, labels=ChunkedLabels.existing(file.annotation_path, item.labels.shape))
            if item is None or not labelled_chunks(item.labels):
                return None, None
            self._big[file.image_path] = item
            counts = item.class_counts()
            self._check_fits(file, item.channels, len(np.trim_zeros(counts, "b")) - 1)
        except StudioError as error:
            return None, str(error)
        return item, None

    def _check_fits(self, file: LabelledFile, channels: int, top: int) -> None:
        """Refuse an image of other `channels` than the model's, or labels up to network class `top` beyond it."""
        if self.channels is not None and channels != self.channels:
            raise TrainingError(file.image_path, f"image has {channels} channel(s), the model expects "
                                                 f"{self.channels}")
        if self.outputs is not None and top >= self.outputs:
            raise TrainingError(file.annotation_path, f"label {top + 1} is beyond the model's "
                                f"{self.outputs - 1} object class(es); start live training again to learn it")

    def _image(self, path: Path, plane: int = 0) -> np.ndarray:
        if (path, plane) not in self._images:
            pixels = read_image(path, plane=plane).pixels
            image = normalize_for_network(pixels, self.normalization["low"], self.normalization["high"])
            known = next((sha for (p, _), (_, sha) in self._images.items() if p == path), None)
            self._images[(path, plane)] = (image, known or file_sha256(path))
        return self._images[(path, plane)][0]
