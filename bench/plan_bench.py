"""How long `helixflow plan` takes for the full AWS stack with the Kubernetes layer, and what it pays for.

    .venv/bin/python bench/plan_bench.py [--runs N]

Each figure is measured in a fresh interpreter (as a user's `helixflow plan` runs): the SDK imports
(pulumi, pulumi_aws, pulumi_kubernetes, with and without the garbage collector held off), the program
under mocks, and the whole CLI command (wall and CPU time). Target: the CLI plan of the example under
5 s of CPU (on shared cores the wall time also counts the neighbours' work; both are printed, with the
load average).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "aws-gpu" / "Pulumi.gpu-prod.yaml"
TARGET_S = 5.0

IMPORTS = """
import gc, importlib, json, sys, time
frozen = sys.argv[1] == "frozen"
started = time.perf_counter()
if frozen:
    gc.disable()
for module in ("pulumi", "pulumi_aws", "pulumi_kubernetes"):
    importlib.import_module(module)
top = time.perf_counter() - started
import pulumi_aws as aws, pulumi_kubernetes as k8s
for used in (aws.ec2.Vpc, aws.eks.Cluster, aws.rds.Instance, aws.elasticache.ReplicationGroup, aws.s3.Bucket,
             aws.iam.Role, aws.kms.Key, k8s.core.v1.Namespace, k8s.apps.v1.Deployment):
    pass
if frozen:
    gc.freeze(); gc.enable()
total = time.perf_counter() - started
started = time.perf_counter(); gc.collect(); collect = time.perf_counter() - started
print(json.dumps({"top": top, "total": total, "collect": collect}))
"""

PROGRAM = """
import json, sys, time
from pathlib import Path
from helixflow.stacks.driver import load_config_file
from helixflow.stacks.plan.runner import import_sdks, plan_resources
started = time.perf_counter(); import_sdks(); imports = time.perf_counter() - started
config = load_config_file(Path(sys.argv[1]))
started = time.perf_counter(); first = plan_resources(config, stack="gpu-prod"); first_s = time.perf_counter() - started
started = time.perf_counter(); plan_resources(config, stack="gpu-prod"); second_s = time.perf_counter() - started
print(json.dumps({"imports": imports, "first": first_s, "second": second_s, "resources": len(first)}))
"""


def fresh(code: str, *args: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=REPO)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_plan() -> tuple[float, float]:
    """(wall, CPU) seconds of the CLI command: on shared cores the CPU time is the cost, the wall adds the wait."""
    started, cpu = time.perf_counter(), cpu_seconds()
    subprocess.run([sys.executable, "-m", "helixflow.cli.main", "plan", "--config", str(EXAMPLE), "--json"],
                   capture_output=True, check=True, cwd=REPO, env={**os.environ})  # fmt: skip
    return time.perf_counter() - started, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    rows: dict[str, list[float]] = {}
    for _ in range(runs):
        for mode in ("plain", "frozen"):
            found = fresh(IMPORTS, mode)
            rows.setdefault(f"import SDKs ({mode} gc), top modules", []).append(found["top"])
            rows.setdefault(f"import SDKs ({mode} gc), with the submodules used", []).append(found["total"])
            rows.setdefault(f"one gc.collect() after importing ({mode})", []).append(found["collect"])
        program = fresh(PROGRAM, str(EXAMPLE))
        rows.setdefault("plan: import_sdks()", []).append(program["imports"])
        rows.setdefault(f"plan: first run of the program ({int(program['resources'])} resources)", []).append(
            program["first"])
        rows.setdefault("plan: second run in the same process", []).append(program["second"])
        wall, cpu = cli_plan()
        rows.setdefault("`helixflow plan --config example --json` wall", []).append(wall)
        rows.setdefault("`helixflow plan --config example --json` CPU", []).append(cpu)
    print(f"{'measure (median of ' + str(runs) + ')':<62} {'s':>6}   (load avg {os.getloadavg()[0]:.1f})")
    for name, values in rows.items():
        print(f"{name:<62} {statistics.median(values):>6.2f}")
    wall = statistics.median(rows["`helixflow plan --config example --json` wall"])
    cpu = statistics.median(rows["`helixflow plan --config example --json` CPU"])
    verdict = "PASS" if cpu < TARGET_S else "FAIL"
    print(f"target: CLI plan < {TARGET_S:.0f} s of CPU: {verdict} (wall {wall:.2f} s at this load)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
