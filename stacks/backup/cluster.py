"""`helixflow backup` on a cluster stack: a Job made from the stack's pg_dump CronJob through the Kubernetes API
(what `kubectl create job --from=cronjob/db-backup` does), waited for until it completes or fails. The dump
is written and uploaded inside the cluster, under the backup service account's identity; the CLI machine
needs only the Kubernetes API. `backup list` reads the bucket itself. Restores (cluster_restore.py) run Jobs
made the same way from the restore template.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helixflow.stacks.backup.model import BackupInfo
from helixflow.stacks.errors import HelixFlowError

OUTPUT = "backup_cron_job"  # the programs export {namespace, name, bucket_uri} when the stack runs the job
MANUAL = {"cronjob.kubernetes.io/instantiate": "manual"}  # as kubectl marks a Job it makes from a CronJob
DEFAULT_TIMEOUT = 3 * 3600.0  # the job's own activeDeadlineSeconds


def _client(kubeconfig: Path, context: str | None) -> Any:
    from helixflow.stacks.targets.kubernetes_status import _api

    return _api(kubeconfig, context)


@contextmanager
def kubeconfig_of(outputs: Mapping[str, Any]) -> Iterator[tuple[Path, str | None]]:
    """(kubeconfig path, context) from a stack's outputs: the `kubernetes` target's file, or the cloud targets'
    exported kubeconfig (its exec plugin fetches a token at each use) in a private temporary file."""
    text = str(outputs.get("kubeconfig_yaml") or "")
    if not text:
        yield Path(str(outputs.get("kubeconfig") or "")), str(outputs.get("context") or "") or None
        return
    with tempfile.TemporaryDirectory(prefix="helixflow-backup-") as directory:
        path = Path(directory) / "kubeconfig"
        path.write_text(text)
        path.chmod(0o600)
        yield path, None


def _job_from(cron: Any, edit: Callable[[Any], None] | None = None) -> Any:
    """The CronJob's Job, its pod spec changed by `edit` first (the restore's backup name, the dump's kind)."""
    from kubernetes import client

    template = cron.spec.job_template
    if edit:
        edit(template.spec.template.spec)
    owner = client.V1OwnerReference(api_version="batch/v1", kind="CronJob", name=cron.metadata.name,
                                    uid=cron.metadata.uid, controller=True)  # fmt: skip
    return client.V1Job(
        api_version="batch/v1", kind="Job", spec=template.spec,
        metadata=client.V1ObjectMeta(
            generate_name=f"{cron.metadata.name}-manual-", namespace=cron.metadata.namespace,
            labels=template.metadata.labels if template.metadata else None, annotations=MANUAL,
            owner_references=[owner]),
    )  # fmt: skip


def set_env(container: Any, **values: str) -> None:
    """Sets (or adds) the container's plain environment variables."""
    from kubernetes import client

    env = [e for e in container.env or [] if e.name not in values]
    container.env = [*env, *(client.V1EnvVar(name=k, value=v) for k, v in values.items())]


def _outcome(job: Any) -> tuple[str, str] | None:
    """("Complete" | "Failed", why) once the Job has finished; None while it runs."""
    for condition in (job.status.conditions if job.status else None) or []:
        if condition.status == "True" and condition.type in ("Complete", "Failed"):
            return condition.type, condition.message or condition.reason or ""
    return None


def failed_containers(core: Any, namespace: str, job: str) -> list[tuple[str, str]]:
    """(container, its termination message or exit code) of each container that failed in the Job's pods."""
    failed = []
    for pod in core.list_namespaced_pod(namespace, label_selector=f"job-name={job}").items:
        status = pod.status
        for state in [*(status.init_container_statuses or []), *(status.container_statuses or [])] if status else []:
            ended = state.state.terminated if state.state else None
            if ended and ended.exit_code:
                why = (ended.message or "").strip().splitlines()
                failed.append((state.name, why[-1][:300] if why else f"exit code {ended.exit_code}"))
    return failed


def run_job(api: Any, namespace: str, cron_job: str, *, what: str, edit: Callable[[Any], None] | None = None,
            timeout: float = DEFAULT_TIMEOUT, poll: float = 1.0) -> tuple[str, dt.datetime]:  # fmt: skip
    """Runs a Job made from the CronJob now; returns (the Job's name, when it completed). Raises HelixFlowError
    (naming the failed container and its message) when the CronJob is missing, the Job fails, or it is still
    running after `timeout` seconds. Kubernetes API errors are the caller's to turn into messages."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    batch = client.BatchV1Api(api)
    try:
        cron = batch.read_namespaced_cron_job(cron_job, namespace)
    except ApiException as err:
        if err.status == 404:
            raise HelixFlowError(f"the cluster has no CronJob {namespace}/{cron_job}",
                                 hint="run `helixflow up` to create it") from None  # fmt: skip
        raise
    job: Any = batch.create_namespaced_job(namespace, _job_from(cron, edit))
    name = str(job.metadata.name)  # generated by the API server
    logs = f"`kubectl -n {namespace} logs job/{name} --all-containers`"
    deadline = time.monotonic() + timeout
    while (outcome := _outcome(batch.read_namespaced_job_status(name, namespace))) is None:
        if time.monotonic() > deadline:
            raise HelixFlowError(f"{what} job {namespace}/{name} is still running after {timeout:.0f}s",
                                 hint=f"follow it: {logs}")  # fmt: skip
        time.sleep(poll)
    if outcome[0] == "Failed":
        failed = failed_containers(client.CoreV1Api(api), namespace, name)
        why = "; ".join(f"{container}: {message}" for container, message in failed) or outcome[1] or "see its pods"
        raise JobFailed(f"{what} job {namespace}/{name} failed: {why}", hint=f"{logs} says more",
                        containers=tuple(c for c, _ in failed))  # fmt: skip
    return name, dt.datetime.now(dt.UTC)


class JobFailed(HelixFlowError):
    """A Job that ran and failed; `containers` names the containers that failed (empty when none ran)."""

    def __init__(self, message: str, hint: str, containers: tuple[str, ...]) -> None:
        super().__init__(message, hint=hint)
        self.containers = containers


@contextmanager
def kubernetes_api(kubeconfig: Path, context: str | None, doing: str) -> Iterator[Any]:
    """An API client; the API's and the network's errors become one HelixFlowError saying what failed."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = _client(kubeconfig, context)
    try:
        yield api
    except (ApiException, HTTPError, OSError) as err:
        raise HelixFlowError(f"cannot {doing}: {str(err).splitlines()[0][:300]}",
                             hint="is the cluster up, and may your kubeconfig create Jobs and scale Deployments "
                             "in the namespace?") from None  # fmt: skip
    finally:
        api.close()


def run_backup_job(kubeconfig: Path, context: str | None, namespace: str, cron_job: str, *,
                   timeout: float = DEFAULT_TIMEOUT, poll: float = 1.0) -> tuple[str, dt.datetime]:  # fmt: skip
    """Runs the backup CronJob's job now; returns (the Job's name, when it completed)."""
    with kubernetes_api(kubeconfig, context, "run the backup job") as api:
        return run_job(api, namespace, cron_job, what="backup", timeout=timeout, poll=poll)


def cluster_backup(outputs: Mapping[str, Any], timeout: float = DEFAULT_TIMEOUT) -> BackupInfo:
    """`helixflow backup` for a cluster stack whose outputs name its backup CronJob. The dump's own name and
    size are known only in the bucket (`backup list`): the result names the Job and the bucket prefix."""
    job = outputs.get(OUTPUT)
    if not isinstance(job, dict) or not job.get("name"):
        raise HelixFlowError("the stack's last `up` made no backup CronJob",
                             hint="configure its bucket (`helixflow config schema`: backup), then `helixflow up`")
    with kubeconfig_of(outputs) as (kubeconfig, context):
        name, done = run_backup_job(kubeconfig, context, str(job["namespace"]), str(job["name"]), timeout=timeout)
    return BackupInfo(name=name, location=str(job.get("bucket_uri") or ""), size_bytes=None, created=done,
                      kind="cluster-job")  # fmt: skip


def refuse_destination(destination: str | None, target: str) -> None:
    if destination:
        raise HelixFlowError(f"a {target} stack's backups go where its CronJob writes them, not {destination!r}",
                             hint="drop --to (the bucket is the stack's configuration: backup)")  # fmt: skip


def bucket_backups(bucket_uri: str | None, source: str | None = None) -> list[BackupInfo]:
    """`backup list` of a cluster stack: the dumps under its backup prefix (or `source`), read from the bucket."""
    from helixflow.stacks.backup import bucket

    where = source or bucket_uri
    if not where:
        raise HelixFlowError("this stack runs no backup CronJob, so it has no bucket of backups",
                             hint="configure one (`helixflow config schema`: backup), or give --from URL")
    return bucket.list_backups(bucket.BucketPrefix.parse(where))
