"""Objects of a mask that is made chunk row by chunk row: each chunk is labelled on its own with the usual
post-processing (``mask_to_instances``), its ids offset past those already given so they are unique, and the
pairs of ids that touch across a chunk border (same class, 4-connected) are kept; ``final_ids`` then merges
those pairs (union-find as graph components) and numbers the objects 1..N, dropping those under a size."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from unet_studio.inference.postprocess import SEED_HEIGHT, mask_to_instances


class BorderMerger:
    """Provisional ids chunk by chunk; call ``label_rows`` with each chunk row of the mask, top to bottom."""

    def __init__(self, width: int, chunk: int, split_touching: bool = False, seed_height: float = SEED_HEIGHT):
        self.width, self.chunk = int(width), int(chunk)
        self.split_touching, self.seed_height = split_touching, seed_height
        self.count = 0  # provisional ids given so far (1..count)
        self._areas: list[np.ndarray] = [np.zeros(1, np.int64)]
        self._pairs: list[np.ndarray] = []
        self._bottom_ids = np.zeros(self.width, np.uint32)
        self._bottom_classes = np.zeros(self.width, np.int64)

    def label_rows(self, mask_rows: np.ndarray) -> np.ndarray:
        """uint32 provisional ids (h, width) of one chunk row of the mask (h, width)."""
        ids = np.zeros(mask_rows.shape, np.uint32)
        for x0 in range(0, self.width, self.chunk):
            x1 = min(self.width, x0 + self.chunk)
            block = mask_rows[:, x0:x1]
            local = mask_to_instances(block, None, self.seed_height, self.split_touching).astype(np.int64)
            n = int(local.max(initial=0))
            ids[:, x0:x1] = np.where(local > 0, local + self.count, 0)
            self._areas.append(np.bincount(local.ravel(), minlength=n + 1)[1:])
            self.count += n
            if x0 > 0:
                self._touching(ids[:, x0 - 1], mask_rows[:, x0 - 1], ids[:, x0], block[:, 0])
        self._touching(self._bottom_ids, self._bottom_classes, ids[0], mask_rows[0])
        self._bottom_ids, self._bottom_classes = ids[-1].copy(), mask_rows[-1].astype(np.int64)
        return ids

    def _touching(self, ids_a, classes_a, ids_b, classes_b) -> None:
        both = (ids_a > 0) & (ids_b > 0) & (np.asarray(classes_a) == np.asarray(classes_b))
        if both.any():
            self._pairs.append(np.unique(np.stack([ids_a[both], ids_b[both]], axis=1).astype(np.int64), axis=0))

    def final_ids(self, min_size: int = 0) -> tuple[np.ndarray, int]:
        """(lookup table provisional id -> final id, uint32; number of objects): objects joined across chunk
        borders, those under ``min_size`` pixels dropped (0), the rest numbered 1..N in order of first pixel."""
        n = self.count + 1
        areas = np.concatenate(self._areas)
        if self._pairs:
            pairs = np.concatenate(self._pairs)
            graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
            _, component = connected_components(graph, directed=False)
        else:
            component = np.arange(n)
        size = np.bincount(component, weights=areas, minlength=int(component.max()) + 1)
        keep = size >= max(1, min_size)
        keep[component[0]] = False
        rank = np.cumsum(keep) * keep
        return rank[component].astype(np.uint32), int(keep.sum())
