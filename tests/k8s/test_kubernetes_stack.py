"""The `kubernetes` target end to end, for real: `helixflow up` through the Pulumi CLI and the real
Pulumi Kubernetes provider onto a real API server, scheduler and controller manager (`helixflow sim`,
kwok nodes; server-side validation and Pod Security admission are the API server's own).

The tests run in order against one simulated cluster and one stack (module-scoped fixtures); each
brings the stack to the state it needs first."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s import crds
from tests.tiers import require_services

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
GPU_NODES, GPUS_PER_NODE, GPUS_PER_WORKER = 2, 8, 4


@dataclass
class ClusterStack:
    home: Path
    kubeconfig: Path
    name: str = "cluster"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "HELIXFLOW_HOME": str(self.home)}

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "helixflow.cli.main", *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout, check=False)  # fmt: skip

    def configure(self, **kubernetes: Any) -> None:
        settings = {"kubeconfig": str(self.kubeconfig), "workers": 2, "gpus_per_worker": GPUS_PER_WORKER,
                    "scaling": {"min_replicas": 2, "max_replicas": 4}, **kubernetes}  # fmt: skip
        config = {"helixflow:target": "kubernetes", "helixflow:kubernetes": settings}
        path = self.home / "project" / f"Pulumi.{self.name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        document = yaml.safe_load(path.read_text()) if path.exists() else {}
        (document or {}).setdefault("config", {})
        document = document or {"config": {}}
        document["config"].update(config)
        path.write_text(yaml.safe_dump(document))

    def up(self) -> dict[str, Any]:
        proc = self.cli("up", "-s", self.name, "--yes", "--json")
        assert proc.returncode == 0, proc.stderr[-3000:]
        return dict(json.loads(proc.stdout))

    def status(self) -> tuple[int, dict[str, Any]]:
        proc = self.cli("status", "-s", self.name, "--json")
        return proc.returncode, json.loads(proc.stdout)

    def api(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterStack]:
    require_services("a simulated Kubernetes cluster")
    home = Path(tempfile.mkdtemp(prefix="helixflow-k8s-"))
    env = {**os.environ, "HELIXFLOW_HOME": str(home)}
    started = subprocess.run(
        [sys.executable, "-m", "helixflow.cli.main", "sim", "up", "--cpu-nodes", "3", "--gpu-nodes", str(GPU_NODES),
         "--gpus-per-node", str(GPUS_PER_NODE)], capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    stack = ClusterStack(home=home, kubeconfig=Path(started.stdout.strip().splitlines()[-1]))
    crds.register(stack.api())  # add-ons marked present: their CRDs are what HelixFlow's objects need
    try:
        yield stack
    finally:
        stack.cli("down", "-s", stack.name, "--purge-data", "--yes", timeout=300)
        subprocess.run([sys.executable, "-m", "helixflow.cli.main", "sim", "down"], env=env, timeout=120, check=False)
        shutil.rmtree(home, ignore_errors=True)


def _pods(stack: ClusterStack, namespace: str, app: str) -> list[Any]:
    from kubernetes import client

    core = client.CoreV1Api(stack.api())
    return list(core.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/name={app}").items)


def test_up_stops_before_creating_anything_when_a_crd_is_missing(cluster: ClusterStack) -> None:
    cluster.configure()
    crds.remove(cluster.api(), "servicemonitors.monitoring.coreos.com")
    try:
        proc = cluster.cli("up", "-s", cluster.name, "--yes")
        assert proc.returncode == 1, proc.stderr[-2000:]
        said = " ".join(proc.stderr.split())
        assert "servicemonitors.monitoring.coreos.com (from kube-prometheus-stack)" in said, said
        assert "kubernetes.addons.kube_prometheus_stack: install" in said
        from kubernetes import client

        namespaces = {n.metadata.name for n in client.CoreV1Api(cluster.api()).list_namespace().items}
        assert "helixflow" not in namespaces, "something was created before the check"  # the module's first test
    finally:
        crds.register(cluster.api())


def test_up_creates_every_object_and_each_deployment_becomes_available(cluster: ClusterStack) -> None:
    cluster.configure()
    summary = cluster.up()
    assert summary["changes"].get("create", 0) >= 30
    assert summary["outputs"]["target"] == "kubernetes" and "validation" not in summary  # no endpoint to call here
    from kubernetes import client

    apps = client.AppsV1Api(cluster.api())

    def all_available() -> bool:
        deployments = apps.list_namespaced_deployment("helixflow").items
        return len(deployments) == 5 and all((d.status.available_replicas or 0) == d.spec.replicas for d in deployments)

    wait_for(all_available, 60, "every Deployment to be available")
    _, status = wait_for(lambda: (s := cluster.status())[0] == 0 and s, 60, "status to report healthy")
    assert {c["name"] for c in status["components"]} == {
        "gateway", "auth", "monitoring", "sglang-router", "sglang-worker", "postgres", "redis"}  # fmt: skip


def test_workers_land_only_on_gpu_nodes_and_the_gateway_never_does(cluster: ClusterStack) -> None:
    workers = _pods(cluster, "helixflow", "sglang-worker")
    gateways = _pods(cluster, "helixflow", "gateway")
    assert len(workers) == 2 and len(gateways) == 2
    assert all(p.spec.node_name.startswith("gpu-") for p in workers), [p.spec.node_name for p in workers]
    assert all(p.spec.node_name.startswith("cpu-") for p in gateways), [p.spec.node_name for p in gateways]


def test_the_migrations_job_completes_before_the_services_roll(cluster: ClusterStack) -> None:
    from kubernetes import client

    api = cluster.api()
    jobs = client.BatchV1Api(api).list_namespaced_job("helixflow").items
    assert len(jobs) == 1 and jobs[0].status.succeeded == 1
    finished = jobs[0].status.completion_time
    for deployment in client.AppsV1Api(api).list_namespaced_deployment("helixflow").items:
        if deployment.metadata.name in ("gateway", "auth", "monitoring"):
            assert deployment.metadata.creation_timestamp >= finished.replace(microsecond=0), deployment.metadata.name


def test_a_second_up_changes_nothing(cluster: ClusterStack) -> None:
    summary = cluster.up()
    assert set(summary["changes"]) == {"same"}, summary["changes"]


def test_status_reports_pending_workers_with_the_schedulers_reason(cluster: ClusterStack) -> None:
    capacity = GPU_NODES * GPUS_PER_NODE // GPUS_PER_WORKER
    cluster.configure(workers=capacity + 2)
    cluster.up()  # the workers are not waited for: the rest of the stack is unchanged

    def pending() -> dict[str, Any] | None:
        rc, status = cluster.status()
        worker = next(c for c in status["components"] if c["name"] == "sglang-worker")
        settled = worker["pending"] == 2 and worker["ready"] == f"{capacity}/{capacity + 2}"
        return worker if rc == 1 and worker["state"] == "pending" and settled else None

    # kwok marks the schedulable pods Ready a moment after they are bound (longer on a loaded machine)
    worker = wait_for(pending, 90, "status to report the schedulable workers ready and the rest unschedulable")
    assert "2 of 6 pending" in worker["detail"] and "Insufficient nvidia.com/gpu" in worker["detail"]
    cluster.configure(workers=2)
    cluster.up()


def test_backup_and_restore_run_as_jobs_in_the_cluster_and_the_writers_come_back(cluster: ClusterStack) -> None:
    """Through the CLI on the stack `up` made: the program's outputs name the CronJobs, the Jobs complete
    (kwok runs no container: nothing is dumped or restored), the writers stop and come back."""
    from kubernetes import client

    cluster.configure(backup={"bucket_uri": "s3://acme-backups/helixflow/"})
    cluster.up()
    apps = client.AppsV1Api(cluster.api())
    before = {d.metadata.name: d.spec.replicas for d in apps.list_namespaced_deployment("helixflow").items}
    taken = cluster.cli("backup", "-s", cluster.name, "--json")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert json.loads(taken.stdout)["name"].startswith("db-backup-manual-")
    name = "helixflow-20261201T031700Z.dump"
    refused = cluster.cli("restore", name, "-s", cluster.name)  # no terminal, no --yes
    assert refused.returncode == 1 and "the gateway is serving" in refused.stderr
    restored = cluster.cli("restore", name, "-s", cluster.name, "--yes", "--json")
    assert restored.returncode == 0, restored.stderr[-2000:]
    summary = json.loads(restored.stdout)
    assert summary["restored"] == name and set(summary["stopped"]) == {"gateway", "auth", "monitoring"}
    jobs = client.BatchV1Api(cluster.api()).list_namespaced_job("helixflow").items
    made = sorted((j.metadata.creation_timestamp, j.metadata.labels["app.kubernetes.io/name"]) for j in jobs
                  if (j.metadata.annotations or {}).get("cronjob.kubernetes.io/instantiate") == "manual")  # fmt: skip
    assert [app for _, app in made] == ["db-backup", "db-restore", "db-backup", "db-restore"]
    after = {d.metadata.name: (d.spec.replicas, d.status.ready_replicas)
             for d in apps.list_namespaced_deployment("helixflow").items}  # fmt: skip
    assert {n: replicas for n, (replicas, _) in after.items()} == before
    assert all(ready == before[n] for n, (_, ready) in after.items() if n in ("gateway", "auth", "monitoring"))
    cluster.configure()
    cluster.up()


def test_a_tenant_gets_its_namespace_quota_limits_policies_and_record_and_delete_retires_it(
    cluster: ClusterStack,
) -> None:
    """`tenant create` on the platform stack `up` made: a stack of its own, referencing the platform's outputs,
    whose objects the API server admits; its record Job completes (kwok runs no container: no key is written)."""
    from kubernetes import client

    made = cluster.cli("tenant", "create", "acme", "-s", cluster.name, "--plan", "free", "--gpus", "4", "--json")
    assert made.returncode == 0, made.stderr[-2000:]
    assert json.loads(made.stdout)["api_key"].startswith("hf_")
    core = client.CoreV1Api(cluster.api())
    namespace = core.read_namespace("helixflow-tenant-acme")
    assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    [quota] = core.list_namespaced_resource_quota("helixflow-tenant-acme").items
    assert quota.spec.hard["requests.nvidia.com/gpu"] == "4"
    assert core.list_namespaced_limit_range("helixflow-tenant-acme").items
    policies = client.NetworkingV1Api(cluster.api()).list_namespaced_network_policy("helixflow-tenant-acme").items
    assert any(p.spec.pod_selector.match_labels is None and not p.spec.ingress for p in policies)  # default deny
    batch = client.BatchV1Api(cluster.api())
    records = batch.list_namespaced_job("helixflow", label_selector="helixflow.io/tenant=acme").items
    assert records and all(j.status.succeeded == 1 for j in records)
    assert "acme" in cluster.cli("tenant", "list", "-s", cluster.name, "--json").stdout
    seen: dict[str, tuple[list[str], int]] = {}  # the retire Job is destroyed with the stack: watched meanwhile
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for job in batch.list_namespaced_job("helixflow", label_selector="helixflow.io/tenant=acme").items:
                seen[job.metadata.name] = (job.spec.template.spec.containers[0].command, job.status.succeeded or 0)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        gone = cluster.cli("tenant", "delete", "acme", "-s", cluster.name, "--yes", "--json")
    finally:
        stop.set()
        watcher.join()
    assert gone.returncode == 0, gone.stderr[-2000:]
    assert any("--retire" in command and succeeded for command, succeeded in seen.values())  # completed first
    wait_for(lambda: not [n for n in core.list_namespace().items if n.metadata.name == "helixflow-tenant-acme"],
             120, "the tenant's namespace to go")  # fmt: skip


def test_down_removes_all_but_the_data(cluster: ClusterStack) -> None:
    from kubernetes import client

    proc = cluster.cli("down", "-s", cluster.name, "--yes", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    core = client.CoreV1Api(cluster.api())
    claims = core.list_namespaced_persistent_volume_claim("helixflow-data").items
    assert {c.metadata.name for c in claims} == {"data-postgres-0", "data-redis-0"}
    wait_for(lambda: not core.list_namespaced_pod("helixflow").items, 60, "the runtime's pods to go")
    assert not client.AppsV1Api(cluster.api()).list_namespaced_stateful_set("helixflow-data").items
    # and `up` finds the data again: the claims bind the same volumes
    volumes = {c.metadata.name: c.spec.volume_name for c in claims}
    cluster.up()
    again = core.list_namespaced_persistent_volume_claim("helixflow-data").items
    assert {c.metadata.name: c.spec.volume_name for c in again} == volumes
