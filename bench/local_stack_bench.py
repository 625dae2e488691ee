"""Wall time of `helixflow up` from nothing, `up` with nothing to change, and `down`.

    .venv/bin/python bench/local_stack_bench.py [--repeat 3]

Runs the real CLI against a throwaway HELIXFLOW_HOME on free ports, then purges it.
Targets: up with nothing to change < 10 s; up from nothing < 60 s; down < 15 s. `up` is timed with
--no-validate; the validation `up` runs by default is timed as its own step (no target).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from helixflow.stacks.targets.local.ports import port_is_free

ROLES = (
    "https", "http", "gateway", "auth", "router", "monitoring", "router_metrics", "postgres", "redis", "prometheus",
)  # fmt: skip
TARGETS = {
    "up from nothing": 60.0,
    "up, nothing to change": 10.0,
    "validate (its own step)": float("inf"),
    "down": 15.0,
    "up after down (data kept)": 60.0,
}


def free_block(count: int) -> list[int]:
    for _ in range(200):
        base = random.randrange(20000, 29000)
        if all(port_is_free(p) for p in range(base, base + count)):
            return list(range(base, base + count))
    raise SystemExit("no free ports")


def timed(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "helixflow.cli.main", *args, "-s", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"`helixflow {' '.join(args)}` failed:\n{proc.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of `up` with nothing to change")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="helixflow-bench-"))
    env = {**os.environ, "HELIXFLOW_HOME": str(home)}
    ports = free_block(len(ROLES) + 2)
    local = {"ports": {**dict(zip(ROLES, ports, strict=False)), "worker_base": ports[len(ROLES)]}}
    config = home / "project" / "Pulumi.bench.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(yaml.safe_dump({"config": {"helixflow:local": local}}))

    results: dict[str, float] = {}
    try:
        results["up from nothing"] = timed(env, "up", "--yes", "--no-validate")
        results["up, nothing to change"] = statistics.median(
            timed(env, "up", "--yes", "--no-validate") for _ in range(args.repeat)
        )
        results["validate (its own step)"] = timed(env, "validate")
        results["down"] = timed(env, "down", "--yes")
        results["up after down (data kept)"] = timed(env, "up", "--yes", "--no-validate")
    finally:
        subprocess.run(
            [sys.executable, "-m", "helixflow.cli.main", "down", "--purge-data", "--yes", "-s", "bench"],
            env=env,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(home, ignore_errors=True)

    print(f"{'operation':<28} {'wall s':>7} {'target s':>9}  verdict   (load avg {os.getloadavg()[0]:.1f})")
    ok = True
    for name, seconds in results.items():
        target = TARGETS[name]
        verdict = "PASS" if seconds < target else "FAIL"
        ok &= seconds < target
        shown = "-" if target == float("inf") else f"{target:.0f}"
        print(f"{name:<28} {seconds:>7.1f} {shown:>9}  {verdict if shown != '-' else ''}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
