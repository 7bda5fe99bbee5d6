"""ExportWorker: writes masks, instances, overlays, measurements, ROIs, GeoJSON, COCO and model files for
a set of project images through unet_studio.export, in a worker thread (the model also as a bioimage.io
package, with the export-model defaults: the login name as author, CC-BY-4.0).

The GUI thread resolves every path first (ExportJob); the worker runs the same loop as `unet-studio export`
(export.api.export_sources: specks under `min_size` pixels left out) and writes new files in the output
folder (atomically, by the export layer). A failing image or format is one line in `problems` and the
others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal

from unet_studio.core.errors import StudioError
from unet_studio.export.api import ExportSource, export_sources
from unet_studio.export.bioimageio import export_bioimageio
from unet_studio.export.model_export import export_onnx, export_torchscript
from unet_studio.inference.predictor import MIN_INSTANCE_SIZE
from unet_studio.gui.workers import JobWorker, one_line_failure

IMAGE_FORMATS = ("masks", "instances", "overlay", "csv", "roi", "geojson", "coco")
MODEL_FORMATS = {"onnx": ".onnx", "torchscript": ".torchscript.pt", "bioimageio": ".bioimageio.zip"}
MODEL_EXPORTERS = {"onnx": export_onnx, "torchscript": export_torchscript,
                   "bioimageio": lambda model, target: export_bioimageio(model, target).path}


@dataclass(frozen=True)
class ExportJob:
    out_dir: Path
    sources: tuple[ExportSource, ...]
    formats: tuple[str, ...]
    classes: tuple[Any, ...] = ()
    model_path: Path | None = None
    model_formats: tuple[str, ...] = field(default_factory=tuple)
    min_size: int = MIN_INSTANCE_SIZE


class ExportWorker(JobWorker):
    """Runs an ExportJob; emits `progress_changed`, then `exported(written, problems)`, then `finished`.
    A failure of the whole job is one more line in `problems`, so the report always comes."""

    progress_changed = Signal(int, int)
    exported = Signal(list, list)
    what = "export"

    def __init__(self, job: ExportJob):
        super().__init__()
        self.job = job

    def work(self) -> None:
        written: list[Path] = []
        problems: list[str] = []
        try:
            self._export(written, problems)
        except Exception as error:  # one line in the report, never a traceback
            problems.append(one_line_failure(error, self.what))
        finally:
            self.exported.emit(written, problems)

    def _export(self, written: list[Path], problems: list[str]) -> None:
        job = self.job
        total = len(job.sources) + len(job.model_formats)
        if job.formats:
            files, lines = export_sources(job.sources, job.out_dir, job.formats, list(job.classes), job.min_size,
                                          progress=lambda done, _n: self.progress_changed.emit(done, total),
                                          stop=self.stop_event)
            written += files
            problems += lines
            if self.stopping:
                return
        self._export_model(written, problems, len(job.sources), total)

    def _export_model(self, written: list[Path], problems: list[str], done: int, total: int) -> None:
        job = self.job
        job.out_dir.mkdir(parents=True, exist_ok=True)
        for offset, fmt in enumerate(job.model_formats, start=1):
            export = MODEL_EXPORTERS[fmt]
            target = job.out_dir / f"{job.model_path.stem}{MODEL_FORMATS[fmt]}"
            try:
                written.append(export(job.model_path, target))
            except StudioError as error:
                problems.append(str(error))
            self.progress_changed.emit(done + offset, total)
