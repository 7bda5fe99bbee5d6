"""Prediction as dask.distributed tasks: one task per image, the model loaded once per worker.

`dask_client(address, n_workers)` starts a LocalCluster of worker processes on this machine (no address) or
connects to a running scheduler (`tcp://HOST:PORT`, e.g. one started by dask-jobqueue on SLURM).
`predict_on_cluster` registers a `ModelOnWorker` plugin that carries the model file's bytes to every worker,
present and future; each worker loads the predictor from them once, on its first task. Each task runs the
same per-image function as the local loop and writes its output file itself (atomically); it returns None
or one problem line. Exceptions other than a bad input (a worker lost, a file system hiccup) are retried.

This module imports dask.distributed (the optional extra `scale`): import it only when asked to use Dask.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import distributed
from distributed.diagnostics.plugin import WorkerPlugin

from unet_studio.core.errors import StudioError

RETRIES = 2  # a task that raised (not a bad image: those return their problem line) runs up to this many times more


def torch_threads_per_worker(n_workers: int, cores: int | None = None) -> int:
    """Torch threads for each of `n_workers` single-task workers so that together they fill the cores once."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, n_workers))


@contextlib.contextmanager
def dask_client(address: str | None, n_workers: int = 2, processes: bool = True) -> Iterator[Any]:
    """A Client on `address`, or on a new LocalCluster of `n_workers` workers (processes, one task at a time
    each); the cluster this made is closed at the end."""
    if address:
        try:
            client = distributed.Client(address)  # waits distributed.comm.timeouts.connect (30 s by default)
        except (OSError, TimeoutError) as error:
            raise StudioError(address, f"cannot reach the Dask scheduler ({error})") from error
        with client:
            yield client
        return
    if n_workers < 1:
        raise StudioError("--dask-workers", f"needs at least 1 worker, got {n_workers}")
    # The workers' stack-sampling profiler (every 10 ms, taking the GIL) cost about a fifth of each image in a probe.
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
            with distributed.Client(cluster) as client:
                yield client


class ModelOnWorker(WorkerPlugin):
    """Worker plugin: the model file's bytes, loaded into a predictor once per worker (lazily, on the task
    thread, so the worker's event loop never blocks on it). Works for checkpoints and bioimage.io packages:
    the bytes are written under the worker's local folder with the file's own name."""

    def __init__(self, name: str, file_name: str, data: bytes, device: str, threshold: float | None,
                 torch_threads: int | None):
        self.name, self.file_name, self.data = name, file_name, data
        self.device, self.threshold, self.torch_threads = device, threshold, torch_threads
        self._predictor = None
        self._lock = threading.Lock()
        self._folder: str | None = None  # the worker's local folder; the model file goes in a temporary one there
        self._model_folder: Path | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.update(_predictor=None, _lock=None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def setup(self, worker) -> None:
        self._folder = getattr(worker, "local_directory", None)

    def teardown(self, worker) -> None:
        self._predictor = None
        if self._model_folder is not None:
            shutil.rmtree(self._model_folder, ignore_errors=True)

    def predictor(self):
        with self._lock:
            if self._predictor is None:
                self._predictor = self._load()
            return self._predictor

    def _load(self):
        import torch

        from unet_studio.inference.model_files import load_predictor

        if self.torch_threads:
            torch.set_num_threads(self.torch_threads)
        self._model_folder = Path(tempfile.mkdtemp(prefix="unet-studio-model-", dir=self._folder))
        path = self._model_folder / self.file_name
        path.write_bytes(self.data)
        predictor = load_predictor(path, device=self.device)
        if self.threshold is not None:
            predictor.threshold = self.threshold
        return predictor


def _run_task(plugin_name: str, job: Callable, path: Path, target: Path, options: Any) -> str | None:
    """On a worker: the per-image job with this worker's predictor."""
    worker = distributed.get_worker()
    return job(worker.plugins[plugin_name].predictor(), path, target, options)


@dataclass(frozen=True)
class TaskResult:
    """One image's outcome: `problem` is None when its file was written."""

    path: Path
    problem: str | None


def predict_on_cluster(client, model_path: str | Path, job: Callable, tasks: Sequence[tuple[Path, Path]],
                       options: Any, device: str = "auto", threshold: float | None = None,
                       torch_threads: int | None = None, retries: int = RETRIES) -> Iterator[TaskResult]:
    """Run `job(predictor, path, target, options)` for every (path, target) in `tasks` on the cluster and yield
    the results as they finish. Paths are made absolute (workers may run elsewhere: they need a shared file
    system). A task that still raises after `retries` is reported as one line."""
    model_path = Path(model_path)
    try:
        data = model_path.read_bytes()
    except OSError as error:
        raise StudioError(model_path, f"cannot read the model file ({error.strerror or error})") from error
    name = f"unet-studio-model-{uuid.uuid4().hex}"
    client.register_plugin(ModelOnWorker(name, model_path.name, data, device, threshold, torch_threads), name=name)
    try:
        futures = {}
        for path, target in tasks:
            path, target = Path(path).absolute(), Path(target).absolute()
            future = client.submit(_run_task, name, job, path, target, options, pure=False, retries=retries,
                                   key=f"predict-{path.name}-{uuid.uuid4().hex[:8]}")
            futures[future] = path
        for future in distributed.as_completed(futures):
            path = futures[future]
            if future.status == "error":
                error = future.exception()
                reason = (str(error).splitlines() or [""])[0]
                yield TaskResult(path, f"{path}: failed on the cluster after {retries + 1} tries "
                                       f"({type(error).__name__}: {reason})")
            else:
                yield TaskResult(path, future.result())
    finally:
        with contextlib.suppress(Exception):
            client.unregister_worker_plugin(name)
