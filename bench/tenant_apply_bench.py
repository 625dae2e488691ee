"""Wall time of `helixflow tenant apply` of 50 tenants on the local target, and per tenant.

    .venv/bin/python bench/tenant_apply_bench.py [--tenants 50] [--parallel N (default: the CLI's)]

Brings a local platform up in a throwaway HELIXFLOW_HOME on free ports, applies a file of N tenants
(create), applies it again (nothing to change), applies an empty list (delete, --yes), then purges it.
Target: the 50 creates under 2 minutes. Each tenant is its own stack: one engine run each, run
`--parallel` at a time; per-tenant time is that tenant's own engine run, as `apply --json` reports it, and
its breakdown the median of each phase of those runs (stacks/tenants/engine.py: prepare = the checks and
`stack init`, engine_start = the CLI until the program runs, platform_read = the program until the platform's
StackReference is read, provider_start = until the first resource (the dynamic provider's process),
resources = the records (admin API), finish = the engine's state write and exit).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from helixflow.stacks.targets.local.ports import port_is_free

ROLES = (
    "https", "http", "gateway", "auth", "router", "monitoring", "router_metrics", "postgres", "redis", "prometheus",
)  # fmt: skip
TARGET_SECONDS = 120.0
PLANS = ("free", "standard", "enterprise")


def free_block(count: int) -> list[int]:
    for _ in range(200):
        base = random.randrange(20000, 29000)
        if all(port_is_free(p) for p in range(base, base + count)):
            return list(range(base, base + count))
    raise SystemExit("no free ports")


def helixflow(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "helixflow.cli.main", *args], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    if check and proc.returncode != 0:
        raise SystemExit(f"`helixflow {' '.join(args)}` failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def apply(env: dict[str, str], home: Path, tenants: list[dict[str, Any]], parallel: int | None) -> tuple[float, Any]:
    manifest = home / "tenants.yaml"
    manifest.write_text(yaml.safe_dump({"platform": "bench", "tenants": tenants}))
    started, cpu = time.perf_counter(), children_cpu()
    chosen = ["--parallel", str(parallel)] if parallel else []
    proc = helixflow(env, "tenant", "apply", str(manifest), "--yes", *chosen, "--json")
    result = json.loads(proc.stdout)
    result["cpu_seconds"] = children_cpu() - cpu
    return time.perf_counter() - started, result


def children_cpu() -> float:
    """CPU seconds of finished child processes (the CLI, its engines and providers): on a shared machine the
    wall time moves with the neighbours' load, this does not."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(step: str, wall: float, result: Any, target: float | None = None) -> None:
    runs = [r["seconds"] for r in result["results"]]
    failed = [r for r in result["results"] if not r["ok"]]
    per = f"per tenant median {statistics.median(runs):.2f} s, max {max(runs):.2f} s" if runs else "no engine runs"
    verdict = "" if target is None else f"  (target < {target:.0f} s: {'met' if wall < target else 'MISSED'})"
    cpu = result["cpu_seconds"] / max(len(runs), 1)
    print(f"{step:<26} {wall:6.1f} s wall; {len(runs)} runs, {per}; {wall / max(len(runs), 1):.2f} s of wall "
          f"and {cpu:.2f} s of CPU per tenant{verdict}")  # fmt: skip
    phases = [r["phases"] for r in result["results"] if r.get("phases")]
    if phases:
        medians = {name: statistics.median(p.get(name, 0.0) for p in phases) for name in phases[0]}
        print("  per tenant, median s: " + ", ".join(f"{name} {value:.2f}" for name, value in medians.items()))
    for failure in failed:
        print(f"  failed: {failure['tenant']}: {failure.get('error')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=None, help="default: the CLI's (two runs a core, 2 to 8)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="helixflow-tenant-bench-"))
    env = {**os.environ, "HELIXFLOW_HOME": str(home)}
    ports = free_block(len(ROLES) + 2)
    local = {"ports": {**dict(zip(ROLES, ports, strict=False)), "worker_base": ports[len(ROLES)]}}
    config = home / "project" / "Pulumi.bench.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(yaml.safe_dump({"config": {"helixflow:local": local}}))
    try:
        helixflow(env, "up", "-s", "bench", "--yes", "--no-validate")
        tenants = [{"name": f"tenant-{i:03d}", "plan": PLANS[i % len(PLANS)]} for i in range(args.tenants)]
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"tenant apply on a local platform, {args.tenants} tenants, --parallel {args.parallel or 'default'}, "
              f"{os.cpu_count()} CPUs, load average {load}")  # fmt: skip
        wall, result = apply(env, home, tenants, args.parallel)
        report(f"create {args.tenants}", wall, result, TARGET_SECONDS)
        wall, result = apply(env, home, tenants, args.parallel)
        report("again, nothing to change", wall, result)
        wall, result = apply(env, home, [], args.parallel)
        report(f"delete {args.tenants}", wall, result)
    finally:
        helixflow(env, "down", "-s", "bench", "--purge-data", "--yes", check=False)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
