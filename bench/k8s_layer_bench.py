"""Wall time of `helixflow up` of the whole Kubernetes layer onto the simulated cluster, of a no-op `up`,
and of `down`; with --scale, the rehearsal: 100 GPU nodes (8 GPUs each), 200 workers (4 GPUs each) and 20
tenants' worth of objects (a namespace each with a ResourceQuota, LimitRange, NetworkPolicy and Secret, as a
tenant has; made through the API before `up`, since the tenant component is not part of the layer yet).

    .venv/bin/python bench/k8s_layer_bench.py [--scale]

Runs the real CLI (Pulumi CLI, the real Kubernetes provider) against `helixflow sim` in a throwaway
HELIXFLOW_HOME. Targets: up < 60 s, no-op up < 15 s; the scale rehearsal's up < 300 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def cli(env: dict[str, str], *args: str, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "helixflow.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and args[0] != "status"):
        raise SystemExit(f"`helixflow {' '.join(args)}` failed:\n{proc.stderr[-3000:]}")
    return elapsed, proc


def wait_workers(env: dict[str, str], stack: str, want: int, timeout: float) -> float:
    """Seconds until `status` reports `want` workers ready (up does not wait for them)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        _, proc = cli(env, "status", "-s", stack, "--json")
        worker = next(c for c in json.loads(proc.stdout)["components"] if c["name"] == "sglang-worker")
        if worker["ready"] == f"{want}/{want}":
            return time.perf_counter() - started
        time.sleep(1)
    raise SystemExit(f"the workers were not all ready after {timeout:.0f}s")


def add_addon_crds_and_tenants(kubeconfig: str, tenants: int) -> None:
    """What the present add-ons would have registered (tests/k8s/test_kubernetes_stack.py), and the tenants."""
    from kubernetes import client, config

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.k8s
    from tests.k8s import crds

    api = config.new_client_from_config(config_file=kubeconfig)
    crds.register(api)
    core, net = client.CoreV1Api(api), client.NetworkingV1Api(api)
    for i in range(tenants):
        ns = f"tenant-{i:02d}"
        core.create_namespace({"metadata": {"name": ns, "labels": {"helixflow.io/tenant": ns}}})
        core.create_namespaced_resource_quota(ns, {"metadata": {"name": "quota"}, "spec": {"hard": {
            "requests.cpu": "64", "requests.memory": "256Gi", "requests.nvidia.com/gpu": "16", "pods": "200"}}})
        core.create_namespaced_limit_range(ns, {"metadata": {"name": "limits"}, "spec": {"limits": [{
            "type": "Container", "default": {"cpu": "1", "memory": "1Gi"},
            "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]}})
        net.create_namespaced_network_policy(ns, {"metadata": {"name": "default-deny"}, "spec": {
            "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
        core.create_namespaced_secret(ns, {"metadata": {"name": "tenant-api-key"},
                                           "stringData": {"key": f"hf_tenant{i:02d}_bench"}})
    api.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="store_true", help="100 GPU nodes and 200 workers")
    args = parser.parse_args()
    gpu_nodes, workers, gpus_per_worker, tenants = (100, 200, 4, 20) if args.scale else (2, 2, 4, 0)
    target_up = 300.0 if args.scale else 60.0

    home = Path(tempfile.mkdtemp(prefix="helixflow-k8s-bench-"))
    env = {**os.environ, "HELIXFLOW_HOME": str(home)}
    results: dict[str, float] = {}
    try:
        sim_s, proc = cli(env, "sim", "up", "--cpu-nodes", "4", "--gpu-nodes", str(gpu_nodes), "--gpus-per-node", "8")
        results[f"sim up ({gpu_nodes} GPU nodes)"] = sim_s
        kubeconfig = proc.stdout.strip().splitlines()[-1]
        started = time.perf_counter()
        add_addon_crds_and_tenants(kubeconfig, tenants)
        results[f"add-on CRDs + {tenants} tenants' objects"] = time.perf_counter() - started
        settings = {"kubeconfig": kubeconfig, "workers": workers, "gpus_per_worker": gpus_per_worker}
        config = home / "project" / "Pulumi.bench.yaml"
        config.parent.mkdir(parents=True)
        config.write_text(yaml.safe_dump({"config": {"helixflow:target": "kubernetes",
                                                     "helixflow:kubernetes": settings}}))  # fmt: skip
        results["up (the whole layer)"] = cli(env, "up", "-s", "bench", "--yes")[0]
        results[f"{workers} workers ready after up"] = wait_workers(env, "bench", workers, 600)
        results["up, nothing to change"] = cli(env, "up", "-s", "bench", "--yes")[0]
        results["down"] = cli(env, "down", "-s", "bench", "--yes")[0]
    finally:
        subprocess.run([sys.executable, "-m", "helixflow.cli.main", "down", "-s", "bench", "--purge-data", "--yes"],
                       env=env, capture_output=True, check=False, timeout=600)  # fmt: skip
        subprocess.run([sys.executable, "-m", "helixflow.cli.main", "sim", "down"], env=env, capture_output=True,
                       check=False, timeout=120)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)

    targets = {"up (the whole layer)": target_up, "up, nothing to change": 15.0}
    print(f"{'operation':<32} {'wall s':>7} {'target s':>9}  verdict   (load avg {os.getloadavg()[0]:.1f})")
    ok = True
    for name, seconds in results.items():
        target = targets.get(name)
        verdict = "" if target is None else ("PASS" if seconds < target else "FAIL")
        ok &= verdict != "FAIL"
        print(f"{name:<32} {seconds:>7.1f} {'-' if target is None else f'{target:.0f}':>9}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
