"""`helixflow backup` and `restore`'s cluster side against a real API server, scheduler and controller manager
(the simulated cluster, kwok nodes): Jobs made from the layer's own db-backup CronJob and db-restore template,
owned by them, running under their service accounts, waited for until the Job controller reports them
Complete or Failed; the writers' Deployments scaled to zero around the restore and back. kwok runs no
container, so this checks the orchestration only: no pg_dump runs and nothing reaches a bucket (the scripts
themselves run for real in tests/backup/test_cluster_scripts.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helixflow.stacks.backup import cluster_restore
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


# --- `helixflow restore`'s cluster side: the restore template's Jobs, and the writers stopped around them ------
WRITER_REPLICAS = {"gateway": 2, "auth": 2, "monitoring": 1}
BACKUP_NAME = "helixflow-20261201T031700Z.dump"


def _writer(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [{"name": name, "image": "ghcr.io/helixflow/runtime:0.4.0",
                                         "securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"drop": ["ALL"]}}}]}}}}  # fmt: skip


@pytest.fixture(scope="module")
def restore_outputs(kubeconfig: Path, cron: dict[str, Any]) -> dict[str, Any]:
    """The restore template and the writers' Deployments beside the backup CronJob, serving."""
    from kubernetes import client, config

    from tests.backup.test_restore_job import ARGS as RESTORE_ARGS
    from tests.backup.test_restore_job import restore_cron

    api = config.new_client_from_config(config_file=str(kubeconfig))
    client.CoreV1Api(api).create_namespaced_service_account(NAMESPACE, {"metadata": {
        "name": RESTORE_ARGS.service_account}})  # fmt: skip
    client.BatchV1Api(api).create_namespaced_cron_job(NAMESPACE, restore_cron())
    for name, replicas in WRITER_REPLICAS.items():
        client.AppsV1Api(api).create_namespaced_deployment(NAMESPACE, _writer(name, replicas))
    _wait_ready(api)
    return {"kubeconfig": str(kubeconfig), "context": "", "backup_cron_job": {
        "namespace": NAMESPACE, "name": cron["metadata"]["name"], "restore": "db-restore",
        "bucket_uri": ARGS.bucket_uri}}  # fmt: skip


def _wait_ready(api: Any) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(api)
    deadline = time.monotonic() + 120
    while any((apps.read_namespaced_deployment(n, NAMESPACE).status.ready_replicas or 0) < r
              for n, r in WRITER_REPLICAS.items()):  # fmt: skip
        assert time.monotonic() < deadline, "the writers did not become ready"
        time.sleep(0.5)


def _replicas(api: Any) -> dict[str, int]:
    from kubernetes import client

    apps = client.AppsV1Api(api)
    return {n: apps.read_namespaced_deployment(n, NAMESPACE).spec.replicas for n in WRITER_REPLICAS}


def _jobs(api: Any, app: str) -> list[Any]:
    from kubernetes import client

    jobs = client.BatchV1Api(api).list_namespaced_job(NAMESPACE, label_selector=f"app.kubernetes.io/name={app}")
    return sorted(jobs.items, key=lambda j: (j.metadata.creation_timestamp, j.metadata.name))


def _env(container: Any) -> dict[str, str]:
    return {e.name: e.value for e in container.env or [] if e.value is not None}


class _Watcher(threading.Thread):
    """Polls the namespace while a restore runs: what the writers were when each Job first appeared, and
    `on_job(job)` run once for each new Job."""

    def __init__(self, api: Any, on_job: Any = None) -> None:
        super().__init__(daemon=True)
        self.api, self.on_job, self.stop = api, on_job, threading.Event()
        self.seen: dict[str, tuple[Any, dict[str, int], int]] = {}

    def run(self) -> None:
        from kubernetes import client

        core = client.CoreV1Api(self.api)
        while not self.stop.is_set():
            for app in ("db-restore", "db-backup"):
                for job in _jobs(self.api, app):
                    if job.metadata.name not in self.seen:
                        pods = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name in "
                                                        "(gateway,auth,monitoring)").items  # fmt: skip
                        self.seen[job.metadata.name] = (job, _replicas(self.api), len(pods))
                        if self.on_job:
                            self.on_job(job)
            time.sleep(0.1)


def _api(kubeconfig: Path) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=str(kubeconfig))


def test_a_restore_is_refused_while_the_gateway_serves_and_nothing_happens(
    kubeconfig: Path, restore_outputs: dict[str, Any]
) -> None:
    api = _api(kubeconfig)
    before = len(_jobs(api, "db-restore")), len(_jobs(api, "db-backup"))
    with pytest.raises(HelixFlowError, match="the gateway is serving") as err:
        cluster_restore.restore(restore_outputs, BACKUP_NAME, confirmed=False, timeout=120, poll=0.5)
    assert "--yes" in (err.value.hint or "")
    assert (len(_jobs(api, "db-restore")), len(_jobs(api, "db-backup"))) == before
    assert _replicas(api) == WRITER_REPLICAS


def test_a_confirmed_restore_checks_backs_up_stops_the_writers_restores_and_brings_them_back(
    kubeconfig: Path, restore_outputs: dict[str, Any]
) -> None:
    api = _api(kubeconfig)
    watcher = _Watcher(api)
    watcher.start()
    try:
        summary = cluster_restore.restore(restore_outputs, ARGS.bucket_uri + BACKUP_NAME, confirmed=True,
                                          timeout=120, rollout_timeout=120, poll=0.5)  # fmt: skip
    finally:
        watcher.stop.set()
        watcher.join()
    verify, backup, restore = sorted(watcher.seen.values(), key=lambda s: s[0].metadata.creation_timestamp)[-3:]
    verify_pod, restore_pod = verify[0].spec.template.spec, restore[0].spec.template.spec
    assert [c.name for c in verify_pod.init_containers] == ["fetch"]  # the check: fetch and read, no restore
    assert [(c.name, _env(c)["RESTORE_MODE"]) for c in verify_pod.containers] == [("restore", "verify")]
    assert verify[1] == WRITER_REPLICAS  # the writers still serve while the backup is checked...
    assert _env(backup[0].spec.template.spec.init_containers[0])["BACKUP_KIND"] == "pre-restore"
    assert backup[1] == WRITER_REPLICAS  # ...and while the database as it is is backed up
    assert [c.name for c in restore_pod.init_containers] == ["fetch", "restore"]
    assert all(_env(c)["BACKUP_NAME"] == BACKUP_NAME for c in [*restore_pod.init_containers, *restore_pod.containers])
    assert restore[1] == dict.fromkeys(WRITER_REPLICAS, 0) and restore[2] == 0  # stopped, not one pod left
    assert _replicas(api) == WRITER_REPLICAS  # and back
    from kubernetes import client

    for name in WRITER_REPLICAS:
        deployment = client.AppsV1Api(api).read_namespaced_deployment(name, NAMESPACE)
        assert cluster_restore.REPLICAS_ANNOTATION not in (deployment.metadata.annotations or {})
        assert deployment.status.ready_replicas == WRITER_REPLICAS[name]
    assert summary.restored == BACKUP_NAME and set(summary.stopped) == set(WRITER_REPLICAS)
    assert backup[0].metadata.name in summary.safety_backup
    assert list(summary.seconds) == ["verify", "safety_backup", "stop_writers", "restore", "start_writers"]


def _make_jobs_fail(api: Any) -> None:
    """The restore template's next Jobs get a pod no node takes and a 2 s deadline: the Job controller fails them."""
    from kubernetes import client

    client.BatchV1Api(api).patch_namespaced_cron_job("db-restore", NAMESPACE, {"spec": {"jobTemplate": {"spec": {
        "activeDeadlineSeconds": 2, "template": {"spec": {"nodeSelector": {"helixflow.dev/no-such-node": "1"}}}}}}})


def _heal_jobs(api: Any) -> None:
    from kubernetes import client

    from tests.backup.test_restore_job import restore_cron

    batch = client.BatchV1Api(api)
    batch.delete_namespaced_cron_job("db-restore", NAMESPACE)
    batch.create_namespaced_cron_job(NAMESPACE, restore_cron())


def test_a_backup_that_fails_its_check_changes_nothing(kubeconfig: Path, restore_outputs: dict[str, Any]) -> None:
    api = _api(kubeconfig)
    backups = len(_jobs(api, "db-backup"))
    _make_jobs_fail(api)
    try:
        with pytest.raises(HelixFlowError, match=r"restore check job helixflow/db-restore-manual-\w+ failed") as err:
            cluster_restore.restore(restore_outputs, BACKUP_NAME, confirmed=True, timeout=120, poll=0.5)
    finally:
        _heal_jobs(api)
    assert "nothing was changed" in (err.value.hint or "")
    assert len(_jobs(api, "db-backup")) == backups  # no pre-restore backup
    assert _replicas(api) == WRITER_REPLICAS


def test_a_restore_job_that_fails_brings_the_writers_back(kubeconfig: Path, restore_outputs: dict[str, Any]) -> None:
    api = _api(kubeconfig)

    def break_the_restore(job: Any) -> None:
        if job.metadata.labels.get("app.kubernetes.io/name") == "db-backup":  # after the check, before the restore
            _make_jobs_fail(api)

    watcher = _Watcher(api, on_job=break_the_restore)
    watcher.start()
    try:
        with pytest.raises(HelixFlowError, match=r"^restore job helixflow/db-restore-manual-\w+ failed") as err:
            cluster_restore.restore(restore_outputs, BACKUP_NAME, confirmed=True, timeout=120, rollout_timeout=120,
                                    poll=0.5)  # fmt: skip
    finally:
        watcher.stop.set()
        watcher.join()
        _heal_jobs(api)
    assert "migrations" not in err.value.message  # the restore itself failed: rolled back, writers back
    restore = max(watcher.seen.values(), key=lambda s: s[0].metadata.creation_timestamp)
    assert restore[1] == dict.fromkeys(WRITER_REPLICAS, 0)
    assert _replicas(api) == WRITER_REPLICAS
    _wait_ready(api)


def test_a_restore_cut_short_is_resumed_with_the_replica_counts_it_kept(
    kubeconfig: Path, restore_outputs: dict[str, Any]
) -> None:
    from kubernetes import client

    api = _api(kubeconfig)
    apps = client.AppsV1Api(api)
    for name, replicas in WRITER_REPLICAS.items():  # as a restore killed after stopping the writers leaves them
        apps.patch_namespaced_deployment(name, NAMESPACE, {"metadata": {"annotations": {
            cluster_restore.REPLICAS_ANNOTATION: str(replicas)}}, "spec": {"replicas": 0}})  # fmt: skip
    deadline = time.monotonic() + 60
    while any(apps.read_namespaced_deployment(n, NAMESPACE).status.ready_replicas for n in WRITER_REPLICAS):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    cluster_restore.restore(restore_outputs, BACKUP_NAME, confirmed=False, timeout=120, rollout_timeout=120,
                            poll=0.5)  # fmt: skip  (not serving: no --yes needed)
    assert _replicas(api) == WRITER_REPLICAS
