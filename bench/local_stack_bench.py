"""Wall time of `helixflow up` from nothing, `up` with nothing to change, and `down`.

    .venv/bin/python bench/local_stack_bench.py [--repeat 3]
    .venv/bin/python bench/local_stack_bench.py --compare REV [--rounds 2]

Runs the real CLI against a throwaway HELIXFLOW_HOME on free ports, then purges it.
Targets: up with nothing to change < 10 s; up from nothing < 60 s; down < 15 s. `up` is timed with
--no-validate; the validation `up` runs by default is timed as its own step (no target).

--compare REV runs the same steps with the code of git revision REV (its packages first on
PYTHONPATH, from this virtual environment) and with this tree, alternating which goes first in
each round, and prints both medians and their ratio side by side.
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


def run_steps(env: dict[str, str], repeat: int) -> dict[str, float]:
    """One stack through every step, in a throwaway home (removed afterwards)."""
    home = Path(tempfile.mkdtemp(prefix="helixflow-bench-"))
    env = {**env, "HELIXFLOW_HOME": str(home)}
    ports = free_block(len(ROLES) + 2)
    local = {"ports": {**dict(zip(ROLES, ports, strict=False)), "worker_base": ports[len(ROLES)]}}
    config = home / "project" / "Pulumi.bench.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(yaml.safe_dump({"config": {"helixflow:local": local}}))
    results: dict[str, float] = {}
    try:
        results["up from nothing"] = timed(env, "up", "--yes", "--no-validate")
        results["up, nothing to change"] = statistics.median(
            timed(env, "up", "--yes", "--no-validate") for _ in range(repeat)
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
    return results


def release_env(revision: str, into: Path) -> dict[str, str]:
    """An environment whose `python -m helixflow...` imports the packages of git revision `revision`."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.releases import release_pythonpath

    try:
        return {**os.environ, "PYTHONPATH": str(release_pythonpath(revision, into))}
    except RuntimeError as err:
        raise SystemExit(str(err)) from None


def compare(revision: str, rounds: int, repeat: int) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="helixflow-bench-release-"))
    sides = {revision[:10]: release_env(revision, scratch), "this tree": dict(os.environ)}
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    try:
        for round_ in range(rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for side in order:
                runs[side].append(run_steps(sides[side], repeat))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    old, new = list(sides)
    print(f"{'operation':<28} {old:>11} {new:>11} {'ratio':>7}  (medians of {rounds} interleaved rounds; "
          f"load avg {os.getloadavg()[0]:.1f})")  # fmt: skip
    for name in TARGETS:
        before = statistics.median(run[name] for run in runs[old])
        after = statistics.median(run[name] for run in runs[new])
        print(f"{name:<28} {before:>10.1f}s {after:>10.1f}s {after / before:>7.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of `up` with nothing to change")
    parser.add_argument("--compare", metavar="REV", help="also time git revision REV, interleaved with this tree")
    parser.add_argument("--rounds", type=int, default=2, help="with --compare: rounds of both")
    args = parser.parse_args()
    if args.compare:
        return compare(args.compare, args.rounds, args.repeat)
    results = run_steps(dict(os.environ), args.repeat)

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
