"""Prediction overlay cost, offscreen; prints JSON (not a test).

The prediction overlay draws pending pixels dashed and accepted ones solid, so each refresh also compares
the prediction with the labels. Measured side by side in one run: the plain label overlay (the annotation's,
same outline rule) and the prediction overlay on the same mask, half of it accepted; a whole-image refresh
(showing a prediction) and a 40 x 40 px refresh (one brush dab), outlines and filled; median ms and ratio.
Usage: QT_QPA_PLATFORM=offscreen python benchmarks/review_overlay_speed.py [--sizes 1024 4096 8192]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from unet_studio.core.project import Project  # noqa: E402
from unet_studio.gui.document import AnnotationDocument  # noqa: E402
from unet_studio.gui.label_overlay import LabelOverlayItem  # noqa: E402
from unet_studio.gui.prediction_overlay import PredictionOverlayItem  # noqa: E402
from unet_studio.gui.prediction_state import PredictionState  # noqa: E402


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else ():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def median_ms(call, repeats: int) -> float:
    call()  # warm-up, not counted
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def blobs(size: int) -> np.ndarray:
    """A 0/1 mask of 48 px squares on a 64 px grid (about half the image is object)."""
    mask = np.zeros((size, size), np.uint8)
    for y in range(0, size, 64):
        for x in range(0, size, 64):
            mask[y + 8:y + 56, x + 8:x + 56] = 1
    return mask


def measure(root: Path, size: int, repeats: int) -> dict:
    folder = root / f"p{size}"
    (folder / "images").mkdir(parents=True)
    cv2.imwrite(str(folder / "images" / "a.png"), np.zeros((size, size), np.uint8))
    project = Project.create(folder, [folder / "images" / "a.png"])
    document = AnnotationDocument()
    state = PredictionState(document)
    document.set_project(project)
    document.set_image(project.images[0].id)
    mask = blobs(size)
    document.labels[: size // 2] = mask[: size // 2] + 1  # the top half accepted
    plain = LabelOverlayItem()
    ours = PredictionOverlayItem(state)
    state.set_result(document.image_id, mask, None)
    plain.set_labels(mask, {1: (255, 0, 0)})
    dab = (size // 2 - 20, size // 2 - 20, size // 2 + 20, size // 2 + 20)
    result = {"size": size}
    for outline in (True, False):
        view = "outline" if outline else "filled"
        for item in (plain, ours):
            item.outline = outline
        for what, bbox in (("whole_image", None), ("brush_dab_40px", dab)):
            base = median_ms(lambda: plain.refresh(bbox), repeats)
            mine = median_ms(lambda: ours.refresh(bbox), repeats)
            result[f"{view}_{what}"] = {"label_overlay_ms": round(base, 3), "prediction_overlay_ms": round(mine, 3),
                                        "ratio": round(mine / base, 2)}
    document.close_image()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        report = {"cpu": cpu_name(), "cores": os.cpu_count(),
                  "results": [measure(Path(tmp), size, args.repeats) for size in args.sizes]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
