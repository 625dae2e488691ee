"""`helixflow restore` on a cluster stack, through the Kubernetes API only (the bucket and the database are
reached from inside the cluster, under the restore job's own identity):

    1. refused while the gateway is serving, unless confirmed
    2. the backup is checked: a Job from the restore template in verify mode (fetch, checksum, every block
       read); a backup that fails it is refused with the reason and nothing else happens
    3. the database as it is is backed up: a Job from the backup CronJob, its dump named `-pre-restore`
    4. the writers (gateway, auth, monitoring) are scaled to zero, their replica counts kept in an annotation
       on each Deployment (a restore cut short finds them there), and their pods are waited out
    5. the restore Job: the schema replaced in one transaction, then the release's migrations
    6. the writers are scaled back and waited for until ready

Pulumi leaves the replica counts alone (the HPA owns them), so the writers are brought back here, not by `up`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from helixflow.components.k8s.restore import BACKUP_NAME_ENV, FETCH, MIGRATE, MODE_ENV, RESTORE
from helixflow.stacks.backup.cluster import (
    DEFAULT_TIMEOUT,
    OUTPUT,
    JobFailed,
    kubeconfig_of,
    kubernetes_api,
    run_job,
    set_env,
)
from helixflow.stacks.backup.model import WRITERS, RestoreSummary, StepClock, serving_refusal
from helixflow.stacks.errors import HelixFlowError

APP_LABEL = "app.kubernetes.io/name"
REPLICAS_ANNOTATION = "helixflow.dev/replicas-before-restore"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.dump$")


def backup_name(reference: str, bucket_uri: str) -> str:
    """The dump's name under the stack's backup prefix, from a name or a URL under that prefix."""
    name = reference
    if "://" in reference:
        if not reference.startswith(bucket_uri):
            raise HelixFlowError(f"{reference!r} is not under this stack's backup prefix {bucket_uri}",
                                 hint="the restore job may read only that prefix: give a backup from "
                                 "`helixflow backup list`")  # fmt: skip
        name = reference[len(bucket_uri) :]
    if not _NAME.match(name):
        raise HelixFlowError(f"{reference!r} is not a backup's name",
                             hint="give NAME.dump as `helixflow backup list` shows it")  # fmt: skip
    return name


def check_reference(reference: str) -> None:
    """Refuses (before the engine is asked for the outputs) what names no backup."""
    backup_name(reference.rsplit("/", 1)[-1], "") if "://" in reference else backup_name(reference, "")


def _template_containers(pod: Any) -> dict[str, Any]:
    containers = {c.name: c for c in [*(pod.init_containers or []), *(pod.containers or [])]}
    if not {FETCH, RESTORE, MIGRATE} <= containers.keys():
        raise HelixFlowError("the cluster's restore template is not this release's",
                             hint="run `helixflow up` to update it")  # fmt: skip
    return containers


def _named(name: str, mode: str) -> Callable[[Any], None]:
    """The pod edit of a restore Job: the backup's name, and in verify mode only the fetch and the check."""

    def edit(pod: Any) -> None:
        containers = _template_containers(pod)
        for container in containers.values():
            set_env(container, **{BACKUP_NAME_ENV: name, MODE_ENV: mode})
        if mode == "verify":
            pod.init_containers, pod.containers = [containers[FETCH]], [containers[RESTORE]]

    return edit


def _pre_restore(pod: Any) -> None:
    for container in pod.init_containers or []:
        set_env(container, BACKUP_KIND="pre-restore")


class _Writers:
    """The writers' Deployments: scaled to zero and back, their counts kept on each in an annotation."""

    def __init__(self, api: Any, namespace: str, poll: float) -> None:
        from kubernetes import client

        self.apps, self.core = client.AppsV1Api(api), client.CoreV1Api(api)
        self.namespace, self.poll = namespace, poll

    def read(self) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        try:
            return {name: self.apps.read_namespaced_deployment(name, self.namespace) for name in WRITERS}
        except ApiException as err:
            if err.status == 404:
                raise HelixFlowError(f"the runtime's Deployments are not in namespace {self.namespace}",
                                     hint="bring the stack up with `helixflow up`") from None  # fmt: skip
            raise

    @staticmethod
    def serving(deployments: Mapping[str, Any]) -> bool:
        return bool(deployments["gateway"].status and deployments["gateway"].status.ready_replicas)

    def stop(self, deployments: Mapping[str, Any], timeout: float) -> dict[str, int]:
        """Scales each writer to zero (keeping its count, or the one a restore cut short kept) and waits until
        none of their pods is left; returns the counts."""
        replicas = {}
        for name, deployment in deployments.items():
            kept = (deployment.metadata.annotations or {}).get(REPLICAS_ANNOTATION)
            replicas[name] = int(kept) if kept and kept.isdigit() else int(deployment.spec.replicas or 0)
            self.apps.patch_namespaced_deployment(name, self.namespace, {
                "metadata": {"annotations": {REPLICAS_ANNOTATION: str(replicas[name])}},
                "spec": {"replicas": 0}})  # fmt: skip
        selector = f"{APP_LABEL} in ({','.join(WRITERS)})"
        self._wait(lambda: not self.core.list_namespaced_pod(self.namespace, label_selector=selector).items,
                   timeout, "the writers' pods to stop")  # fmt: skip
        return replicas

    def start(self, replicas: Mapping[str, int], timeout: float) -> None:
        for name, count in replicas.items():
            self.apps.patch_namespaced_deployment(name, self.namespace, {
                "metadata": {"annotations": {REPLICAS_ANNOTATION: None}}, "spec": {"replicas": count}})  # fmt: skip

        def ready() -> bool:
            for name, count in replicas.items():
                d: Any = self.apps.read_namespaced_deployment_status(name, self.namespace)
                rolled = (d.status.observed_generation or 0) >= d.metadata.generation
                if not rolled or (d.status.ready_replicas or 0) < count:
                    return False
            return True

        self._wait(ready, timeout, "the writers to be ready")

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise HelixFlowError(f"timed out after {timeout:.0f}s waiting for {what}",
                                     hint=f"`kubectl -n {self.namespace} get pods` shows why")  # fmt: skip
            time.sleep(self.poll)


def restore(outputs: Mapping[str, Any], reference: str, *, confirmed: bool, timeout: float = DEFAULT_TIMEOUT,
            rollout_timeout: float = 600.0, poll: float = 1.0) -> RestoreSummary:  # fmt: skip
    """Replace the cluster stack's database with a backup's in its bucket (steps in the module's docstring)."""
    jobs = outputs.get(OUTPUT)
    if not isinstance(jobs, dict) or not jobs.get("name"):
        raise HelixFlowError("the stack's last `up` made no backup CronJob, so it has no backups to restore",
                             hint="configure its bucket (`helixflow config schema`: backup), then `helixflow up`")
    if not jobs.get("restore"):
        raise HelixFlowError("the stack was deployed by an earlier release, without the restore template",
                             hint="run `helixflow up` once to add it")  # fmt: skip
    namespace, bucket_uri = str(jobs["namespace"]), str(jobs.get("bucket_uri") or "")
    name = backup_name(reference, bucket_uri)
    clock = StepClock()
    lap = clock.lap
    with kubeconfig_of(outputs) as (kubeconfig, context), \
            kubernetes_api(kubeconfig, context, "restore the backup") as api:  # fmt: skip
        writers = _Writers(api, namespace, poll)
        deployments = writers.read()
        if writers.serving(deployments) and not confirmed:
            raise serving_refusal()
        try:
            run_job(api, namespace, str(jobs["restore"]), what="restore check", edit=_named(name, "verify"),
                    timeout=timeout, poll=poll)  # fmt: skip
        except JobFailed as failure:
            failure.hint = f"{failure.hint}; nothing was changed"
            raise
        lap("verify")
        safety, _ = run_job(api, namespace, str(jobs["name"]), what="pre-restore backup", edit=_pre_restore,
                            timeout=timeout, poll=poll)  # fmt: skip
        lap("safety_backup")
        replicas = writers.stop(deployments, rollout_timeout)
        lap("stop_writers")
        try:
            run_job(api, namespace, str(jobs["restore"]), what="restore", edit=_named(name, "restore"),
                    timeout=timeout, poll=poll)  # fmt: skip
        except JobFailed as failure:
            if MIGRATE in failure.containers:  # the restore committed: the services would meet an old schema
                failure.message = f"{name} is restored, but this release's migrations failed on it ({failure.message})"
                failure.hint = (f"{failure.hint}; the writers are left stopped: fix the cause and restore again, or "
                                f"restore the pre-restore backup of job {safety} to go back")  # fmt: skip
                raise
            writers.start(replicas, rollout_timeout)  # the restore rolled back: the writers come back unchanged
            raise
        except BaseException:
            writers.start(replicas, rollout_timeout)
            raise
        lap("restore")
        writers.start(replicas, rollout_timeout)
        lap("start_writers")
    stopped = tuple(w for w, count in replicas.items() if count)
    return RestoreSummary(restored=name, safety_backup=f"the -pre-restore.dump of job {safety} in {bucket_uri}",
                          stopped=stopped, seconds=clock.seconds)  # fmt: skip
