"""The cluster targets' restore template, offline under Pulumi's mocks: a suspended CronJob whose manifest
validates strictly against the Kubernetes 1.34 schema, whose pod meets Pod Security `restricted`, runs under
its own (read) service account, fetches from the backup prefix, restores with the admin's URL and migrates;
and the layer runs it (with its NetworkPolicy) exactly when it runs the backup CronJob."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from helixflow.components.k8s.restore import FETCH, MIGRATE, RESTORE, RestoreArgs, RestoreJob
from tests.backup.test_backup_job import ARGS as BACKUP
from tests.k8s.test_manifests import Recorder
from tests.k8s.test_manifests import render as render_stack

pytestmark = pytest.mark.unit
ARGS = RestoreArgs(backup=BACKUP, runtime_image="ghcr.io/helixflow/runtime:0.4.0", service_account="db-restore",
                   admin_url_secret="helixflow-migrations")  # fmt: skip


def restore_cron(args: RestoreArgs = ARGS) -> dict[str, Any]:
    asyncio.set_event_loop(asyncio.new_event_loop())
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="helixflow", stack="unit", preview=False)
    pulumi.runtime.test(lambda: RestoreJob("restore", args))()
    [obj] = recorder.objects
    return obj


def _pod(cron: dict[str, Any]) -> dict[str, Any]:
    return dict(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"])


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("bucket", ["s3://helixflow-prod/stacks/prod/backups/", "gs://helixflow-prod/backups/"])
def test_a_suspended_template_that_validates_strictly(bucket: str) -> None:
    cron = restore_cron(replace(ARGS, backup=replace(BACKUP, bucket_uri=bucket)))
    kubernetes_validate.validate(cron, "1.34", strict=True)
    assert cron["spec"]["suspend"] is True and cron["metadata"]["name"] == "db-restore"
    assert cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0  # never a second restore over a failed one
    pod = _pod(cron)
    assert [c["name"] for c in pod["initContainers"]] == [FETCH, RESTORE]
    assert [c["name"] for c in pod["containers"]] == [MIGRATE]
    fetch = pod["initContainers"][0]
    assert _env(fetch)["BUCKET_URI"] == bucket
    assert "$(BACKUP_NAME).sha256" in " ".join(fetch["command"])  # the checksum comes with the dump


def test_a_misspelt_field_fails_the_validation() -> None:
    cron = restore_cron()
    cron["spec"]["suspended"] = cron["spec"].pop("suspend")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cron, "1.34", strict=True)


def test_restricted_under_its_own_account_with_the_admin_url_for_the_restore_only() -> None:
    pod = _pod(restore_cron())
    assert pod["serviceAccountName"] == "db-restore" and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in [*pod["initContainers"], *pod["containers"]]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"  # what `restore` prints
    fetch, restore = pod["initContainers"]
    [migrate] = pod["containers"]
    admin = {"secretKeyRef": {"name": "helixflow-migrations", "key": "HELIXFLOW_DATABASE_ADMIN_URL"}}
    assert _env(restore)["ADMIN_URL"] == admin
    assert _env(restore)["DATABASE_URL"] == {"secretKeyRef": {"name": "helixflow-runtime",
                                                              "key": "HELIXFLOW_DATABASE_URL"}}  # fmt: skip
    assert not {"ADMIN_URL", "DATABASE_URL"} & _env(fetch).keys()  # the bucket copy gets no database secret
    assert _env(migrate)["HELIXFLOW_DATABASE_ADMIN_URL"] == admin
    assert migrate["image"] == ARGS.runtime_image and migrate["securityContext"]["runAsUser"] == 10001
    assert migrate["command"] == ["python", "-m", "helixflow.runtime.db", "upgrade"]


def test_without_an_admin_the_runtimes_url_restores() -> None:
    pod = _pod(restore_cron(replace(ARGS, admin_url_secret=None)))
    restore = pod["initContainers"][1]
    assert _env(restore)["ADMIN_URL"] == _env(restore)["DATABASE_URL"]


@pytest.mark.parametrize(
    ("change", "message"),
    [({"service_account": "backup"}, "different service accounts"),
     ({"service_account": "DB_Restore"}, "not a Kubernetes name"),
     ({"runtime_image": "ghcr.io/helixflow/runtime"}, "must be pinned"),
     ({"backup": replace(BACKUP, bucket_uri="https://x/backups/")}, "must be s3://")],
)  # fmt: skip
def test_bad_arguments_are_refused_before_anything_is_created(change: dict[str, Any], message: str) -> None:
    if change.get("service_account") == "backup":
        change = {"service_account": BACKUP.service_account}
    with pytest.raises(ValueError, match=message):
        replace(ARGS, **change).validate()


def test_the_layer_runs_the_template_with_the_backups_and_only_then() -> None:
    assert not [o for o in render_stack({}).objects
                if o["metadata"].get("name") == "db-restore" and o["kind"] in ("CronJob", "NetworkPolicy")]
    note = {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/restore"}
    objects = render_stack({"backup": {"bucket_uri": "s3://acme-backups/helixflow/",
                                       "restore_service_account_annotations": note}}).objects  # fmt: skip
    named = {(o["kind"], o["metadata"].get("name")): o for o in objects}
    cron = named["CronJob", "db-restore"]
    assert _pod(cron)["serviceAccountName"] == "db-restore"
    assert named["ServiceAccount", "db-restore"]["metadata"]["annotations"] == note
    assert _env(_pod(cron)["initContainers"][0])["BUCKET_URI"] == "s3://acme-backups/helixflow/"
    policy = named["NetworkPolicy", "db-restore"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= cron["spec"]["jobTemplate"]["spec"]["template"][
        "metadata"]["labels"].items()  # fmt: skip
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert {53, 5432, 443} <= ports  # DNS, the database, the bucket
