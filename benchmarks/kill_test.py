"""Crash-safety benchmark: SIGKILL a project writer at random moments, check every file; prints JSON.

    python benchmarks/kill_test.py --trials 200 --seed 0

Each trial forks a writer (annotation saves, status/class/settings manifest updates, checkpoint saves)
and kills it after a random delay; every file must then decode and hold its previous or its new
version, and the project must open. The suite runs the same harness with fewer trials.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.crash_harness import run_trials  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100, help="kill trials (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=float, default=0.25, help="longest wait before the kill, seconds")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kill-test-") as folder:
        summary = run_trials(Path(folder) / "project", args.trials, args.seed, args.max_delay)
    result = {**summary.to_dict(), "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(result, indent=2))
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
