"""How fast does `helixflow --help` start? Median wall time of repeated runs.

    .venv/bin/python bench/cli_startup.py [--runs 20]

Prints the bare interpreter start-up beside it, measured in the same run, so the
figure can be read on a noisy machine. Target: median under 0.3 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.3


def wall_times(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    entry = shutil.which("helixflow", path=str(Path(sys.executable).parent)) or "helixflow"
    wall_times([entry, "--help"], 2)  # warm the page cache and .pyc files
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "helixflow --help": [entry, "--help"],
        "helixflow --version": [entry, "--version"],
    }
    print(f"{'command':<22} {'median s':>9} {'p90 s':>7} {'min s':>7}  (runs={args.runs})")
    medians = {}
    for name, argv in cases.items():
        times = sorted(wall_times(argv, args.runs))
        medians[name] = statistics.median(times)
        p90 = times[int(0.9 * (len(times) - 1))]
        print(f"{name:<22} {medians[name]:>9.3f} {p90:>7.3f} {times[0]:>7.3f}")
    help_median = medians["helixflow --help"]
    verdict = "PASS" if help_median < TARGET_S else "FAIL"
    print(f"helixflow --help median {help_median:.3f} s (target < {TARGET_S} s): {verdict}")
    return 0 if help_median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
