"""What a stack's per-plane labels cost: one plane's autosave (the whole multi-page file rewritten, the other
planes read from disk, on the writer thread) and one plane's load (a plane switch), next to a flat image's
single annotation save of the same plane size; prints JSON (not a test).

Usage: python benchmarks/plane_save.py [--planes 20] [--size 1024] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_machine import machine  # noqa: E402

from unet_studio.core.annotations import write_annotation  # noqa: E402
from unet_studio.core.plane_labels import read_label_plane, write_label_plane  # noqa: E402


def _best(run, repeats: int) -> float:
    """Median seconds of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--planes", type=int, default=20)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    labels = np.zeros((args.size, args.size), np.uint8)
    labels[rng.integers(0, args.size, 2000), rng.integers(0, args.size, 2000)] = 2  # scribble-like
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        stem = Path(folder) / "stack"
        for plane in range(args.planes):
            write_label_plane(stem, plane, labels, args.planes)
        save_plane = _best(lambda: write_label_plane(stem, args.planes // 2, labels, args.planes), args.repeats)
        load_plane = _best(lambda: read_label_plane(stem.with_suffix(".tif"), args.planes // 2, args.planes,
                                                    labels.shape), args.repeats)
        flat = _best(lambda: write_annotation(Path(folder) / "flat", labels), args.repeats)
        size_mb = stem.with_suffix(".tif").stat().st_size / 1e6
    print(json.dumps({
        "machine": machine("native"), "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "planes": args.planes, "plane_size": args.size, "file_mb": round(size_mb, 2),
        "save_one_plane_s": round(save_plane, 4), "load_one_plane_s": round(load_plane, 4),
        "flat_annotation_save_s": round(flat, 4), "save_vs_flat": round(save_plane / flat, 1),
    }, indent=1))


if __name__ == "__main__":
    main()
