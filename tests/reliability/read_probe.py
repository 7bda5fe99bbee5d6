"""Run the image readers on files in a separate process, each call under a time limit.

A hang or a crash inside a decoder must fail a test, not freeze the suite, so the readers run in a
child process (``python -m tests.reliability.read_probe FILE...``) that prints one JSON line per call.
"""

from __future__ import annotations

import hashlib
import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

CALL_LIMIT_S = 5
MEMORY_LIMIT_BYTES = 3 * 2**30  # a reader asking for more than this is a finding, not a success
ROOT = Path(__file__).resolve().parents[2]


class _TimeLimit(Exception):
    """Raised by the alarm when one reader call runs past CALL_LIMIT_S."""


def _on_alarm(signum, frame):
    raise _TimeLimit()


def pixel_digest(pixels) -> str:
    """A short fingerprint of an array's shape, dtype and bytes."""
    digest = hashlib.sha256(f"{pixels.shape}{pixels.dtype}".encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()[:16]


def probe(path: Path, reader_name: str) -> dict:
    """Call one reader on one file; describe the outcome as plain data."""
    from unet_studio.core.errors import ImageReadError
    from unet_studio.core.images import image_info, read_image

    started = time.perf_counter()
    result: dict = {"file": path.name, "reader": reader_name}
    signal.alarm(CALL_LIMIT_S)
    try:
        if reader_name == "read_image":
            image = read_image(path)
            result.update(outcome="ok", digest=pixel_digest(image.pixels), n_planes=image.n_planes)
        else:
            info = image_info(path)
            result.update(outcome="ok", shape=[info.height, info.width, info.channels], n_planes=info.n_planes)
    except ImageReadError as exc:
        result.update(outcome="refused", message=str(exc))
    except _TimeLimit:
        result.update(outcome="hang", message=f"no answer within {CALL_LIMIT_S} s")
    except Exception as exc:  # noqa: BLE001 - anything else is exactly what the probe reports
        result.update(outcome="crash", message=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        signal.alarm(0)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def probe_files(paths: list[Path], timeout_s: float | None = None) -> list[dict]:
    """Probe every file with both readers in one child process; a child that dies or hangs is reported."""
    limit = timeout_s if timeout_s is not None else 10 + 2 * CALL_LIMIT_S * len(paths)
    command = [sys.executable, "-m", "tests.reliability.read_probe", *map(str, paths)]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"reader process hung for more than {limit} s: {exc.stdout!r}") from exc
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        raise AssertionError(f"reader process died (exit {done.returncode}) after {len(results)} calls: "
                             f"{done.stderr[-2000:]}")
    return results


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGALRM, _on_alarm)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    for name in argv:
        for reader_name in ("image_info", "read_image"):
            print(json.dumps(probe(Path(name), reader_name)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
