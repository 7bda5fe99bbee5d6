"""`unet-studio predict ... --dask [ADDRESS]`: the same per-image work as the local loop, as Dask tasks."""

from __future__ import annotations

import argparse
from pathlib import Path

from unet_studio.cli.output import ProgressLine, bar, info, problem
from unet_studio.core.errors import StudioError
from unet_studio.export.predicted_files import FileOptions, predict_file

MISSING = "needs dask.distributed: pip install 'unet-studio[scale]' (or 'dask[distributed]')"
DEFAULT_WORKERS = 2


def add_dask_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dask", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run one Dask task per image: without ADDRESS on a LocalCluster of --dask-workers worker "
                        "processes here, with one (tcp://HOST:PORT) on that scheduler's workers, which must see "
                        "the same files (see README, Scaling out)")
    p.add_argument("--dask-workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                   help=f"with --dask and no address: worker processes of the LocalCluster (default "
                        f"{DEFAULT_WORKERS}), one image at a time each, the cores shared out between them")


def run_dask(args: argparse.Namespace, targets: dict[Path, Path]) -> int:
    """Predict every image of `targets` on the cluster, printing problem lines as they come and the
    progress; returns how many failed."""
    try:
        from unet_studio.inference import dask_predict
    except ImportError as error:
        raise StudioError("--dask", MISSING) from error
    address = args.dask or None
    progress, done, failures = ProgressLine(), 0, 0
    threads = None if address else dask_predict.torch_threads_per_worker(args.dask_workers)
    with dask_predict.dask_client(address, args.dask_workers) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        info(f"dask: {workers} worker(s) at {client.scheduler.address}"
             + (f", {threads} torch thread(s) each" if threads else ""))
        results = dask_predict.predict_on_cluster(client, args.model, predict_file, list(targets.items()),
                                                  FileOptions.from_args(args), device=args.device,
                                                  threshold=args.threshold, torch_threads=threads)
        for result in results:
            done += 1
            if result.problem is not None:
                failures += 1
                progress.finish()
                problem(result.problem)
            progress.update(f"predict {bar(done / len(targets))} {done}/{len(targets)}  {result.path.name}")
    progress.finish(f"predict {bar(1.0)} {len(targets)}/{len(targets)}")
    return failures
