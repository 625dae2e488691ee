"""`helixflow backup`'s cluster side against a real API server, scheduler and controller manager (the
simulated cluster, kwok nodes): a Job made from the layer's own db-backup CronJob, owned by it, running under
the backup service account, waited for until the Job controller reports it Complete. kwok runs no container,
so this checks the orchestration only: no pg_dump runs and nothing reaches a bucket."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helixflow.stacks.backup.cluster import MANUAL, cluster_backup, run_backup_job
from helixflow.stacks.errors import HelixFlowError
from tests.backup.test_backup_job import ARGS, cron_job
from tests.tiers import require_services

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
NAMESPACE = ARGS.namespace


@pytest.fixture(scope="module")
def kubeconfig() -> Iterator[Path]:
    require_services("a simulated Kubernetes cluster")
    home = Path(tempfile.mkdtemp(prefix="helixflow-backup-sim-"))
    env = {**os.environ, "HELIXFLOW_HOME": str(home)}
    cli = [sys.executable, "-m", "helixflow.cli.main", "sim"]
    started = subprocess.run([*cli, "up", "--cpu-nodes", "1", "--gpu-nodes", "0"], capture_output=True, text=True,
                             env=env, timeout=300, check=False)  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield Path(started.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([*cli, "down"], env=env, timeout=120, check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def cron(kubeconfig: Path) -> dict[str, Any]:
    """The BackupJob component's CronJob as rendered offline, with its namespace and service account."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": NAMESPACE, "labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})  # fmt: skip
    core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": ARGS.service_account}})
    manifest = cron_job()
    client.BatchV1Api(api).create_namespaced_cron_job(NAMESPACE, manifest)
    return manifest


def test_a_backup_runs_the_cron_jobs_job_now_and_waits_for_it(kubeconfig: Path, cron: dict[str, Any]) -> None:
    from kubernetes import client, config

    name, _ = run_backup_job(kubeconfig, None, NAMESPACE, cron["metadata"]["name"], timeout=120, poll=0.5)
    api = config.new_client_from_config(config_file=str(kubeconfig))
    job = client.BatchV1Api(api).read_namespaced_job(name, NAMESPACE)
    assert job.status.succeeded == 1
    [owner] = job.metadata.owner_references
    assert (owner.kind, owner.name) == ("CronJob", cron["metadata"]["name"])
    assert MANUAL.items() <= (job.metadata.annotations or {}).items()
    template = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job.spec.template.spec.service_account_name == template["serviceAccountName"]
    assert [c.name for c in job.spec.template.spec.init_containers] == ["dump"]
    pods = client.CoreV1Api(api).list_namespaced_pod(NAMESPACE, label_selector=f"job-name={name}").items
    assert pods and all(p.spec.service_account_name == ARGS.service_account for p in pods)


def test_through_the_stacks_outputs_the_result_names_the_job_and_the_bucket(
    kubeconfig: Path, cron: dict[str, Any]
) -> None:
    outputs = {"kubeconfig": str(kubeconfig), "context": "", "backup_cron_job": {
        "namespace": NAMESPACE, "name": cron["metadata"]["name"], "bucket_uri": ARGS.bucket_uri}}  # fmt: skip
    info = cluster_backup(outputs, timeout=120)
    assert info.kind == "cluster-job" and info.name.startswith("db-backup-manual-")
    assert info.location == ARGS.bucket_uri and info.size_bytes is None  # named and sized in the bucket only


def test_a_missing_cron_job_is_a_clear_error(kubeconfig: Path, cron: dict[str, Any]) -> None:
    with pytest.raises(HelixFlowError, match=f"no CronJob {NAMESPACE}/nightly") as err:
        run_backup_job(kubeconfig, None, NAMESPACE, "nightly", timeout=10)
    assert "helixflow up" in (err.value.hint or "")


def test_a_job_that_does_not_finish_in_time_is_reported_with_where_to_look(
    kubeconfig: Path, cron: dict[str, Any]
) -> None:
    with pytest.raises(HelixFlowError, match="still running after 0s") as err:
        run_backup_job(kubeconfig, None, NAMESPACE, cron["metadata"]["name"], timeout=0, poll=0.1)
    assert "kubectl -n helixflow logs job/db-backup-manual-" in (err.value.hint or "")
