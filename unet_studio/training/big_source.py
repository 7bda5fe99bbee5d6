"""Big project images (OME-Zarr folders, TIFFs over core.image_headers.MAX_PIXELS) as training items that
are read region by region: the labelled chunks of their chunked label store say where patches can come
from (the store's index counts each chunk's pixels per class, so no chunk is read to find them), and a
patch reads one label chunk and a window of level 0 (data.lazy_patches). Nothing here reads a whole image.

Big images train but never validate: validation and the post-processing choice predict their images whole,
which a 50,000 x 50,000 image does not allow (hours on a CPU, far more memory than the image's chunks), so
a big image marked 'val' is left out of the run, with one Log line saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unet_studio.core.chunked_labels import ChunkedLabels
from unet_studio.data.lazy_patches import LazyTrainItem
from unet_studio.io.ome_zarr import open_multiscale


def labelled_chunks(labels: ChunkedLabels) -> list[tuple[int, int]]:
    """The chunks of a store that hold a label of any class (from its index), sorted."""
    return sorted(key for key, counts in labels.chunk_counts().items() if counts[1:].any())


def open_big_item(image_path: Path, labels_folder: Path, normalization: dict) -> LazyTrainItem | None:
    """A big image and its chunked labels as a LazyTrainItem, or None while the labels are all unlabelled.
    StudioError (one line naming the file) when the image or its labels cannot be read."""
    image = open_multiscale(image_path)
    labels = ChunkedLabels.existing(labels_folder, image.shape)
    if not labelled_chunks(labels):
        image.close()
        return None
    return LazyTrainItem.open(image, labels, str(image_path), normalization["low"], normalization["high"])


def big_image_record(item: LazyTrainItem) -> dict:
    """What a checkpoint's history records of a big training image: its name and size (no checksum:
    hashing gigabytes of chunks before the first step is not feasible)."""
    height, width = item.labels.shape
    return {"name": item.image.path.name, "height": height, "width": width}


def left_out_of_validation(names: Sequence[str]) -> str | None:
    """The Log line naming the big images marked 'val' (left out of the run), or None."""
    if not names:
        return None
    return (f"{len(names)} big image(s) marked 'val' left out ({', '.join(names[:3])}"
            f"{', ...' if len(names) > 3 else ''}): validation predicts whole images, which a big image does "
            "not allow; mark it 'train' to train on it")
