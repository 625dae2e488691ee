"""The cluster targets' backup CronJob, offline under Pulumi's mocks: its manifest validates strictly against
the Kubernetes 1.34 schema, its pod meets Pod Security `restricted` with requests and limits, it dumps with the
same format and checksum as `helixflow backup`, and bad arguments are refused before anything is created."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from helixflow.components.k8s.backup import UPLOADER_IMAGES, BackupArgs, BackupJob
from tests.k8s.test_manifests import Recorder

pytestmark = pytest.mark.unit
ARGS = BackupArgs(
    namespace="helixflow", image="postgres:16.10-bookworm", database_url_secret="helixflow-runtime",
    bucket_uri="s3://helixflow-prod-artifacts/stacks/prod/backups/", service_account="db-backup",
)  # fmt: skip


def render(args: BackupArgs) -> Recorder:
    asyncio.set_event_loop(asyncio.new_event_loop())
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="helixflow", stack="unit", preview=False)

    def program() -> None:
        BackupJob("backup", args)

    pulumi.runtime.test(program)()
    return recorder


def cron_job(args: BackupArgs = ARGS) -> dict[str, Any]:
    recorder = render(args)
    assert recorder.components == ["helixflow:k8s:BackupJob"]
    [obj] = recorder.objects
    assert (obj["apiVersion"], obj["kind"]) == ("batch/v1", "CronJob")
    return obj


@pytest.mark.parametrize("bucket", ["s3://helixflow-prod/stacks/prod/backups/", "gs://helixflow-prod/backups/"])
def test_the_cron_job_validates_strictly_against_the_kubernetes_schema(bucket: str) -> None:
    obj = cron_job(replace(ARGS, bucket_uri=bucket))
    kubernetes_validate.validate(obj, "1.34", strict=True)
    pod = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    upload = pod["containers"][0]
    assert upload["image"] == UPLOADER_IMAGES[bucket[:2]]
    assert {"name": "BUCKET_URI", "value": bucket} in upload["env"]


def test_a_misspelt_field_fails_the_validation() -> None:
    obj = cron_job()
    obj["spec"]["schedul"] = obj["spec"].pop("schedule")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, "1.34", strict=True)


def test_daily_never_overlapping_restricted_with_requests_and_limits() -> None:
    spec = cron_job()["spec"]
    assert spec["schedule"] == "17 3 * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "db-backup" and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for container in [*pod["initContainers"], *pod["containers"]]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"]
        assert context["readOnlyRootFilesystem"] is True
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert ":" in container["image"] and not container["image"].endswith(":latest")


def test_the_dump_is_a_checked_custom_format_archive_with_its_checksum() -> None:
    pod = cron_job()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [dump] = pod["initContainers"]
    script = dump["command"][-1]
    assert "pg_dump --format=custom --compress=6" in script and 'pg_restore --list "$name.partial"' in script
    assert 'sha256sum "$name" > "$name.sha256"' in script
    [url] = dump["env"]
    assert url["valueFrom"]["secretKeyRef"] == {"name": "helixflow-runtime", "key": "HELIXFLOW_DATABASE_URL"}
    assert {m["mountPath"] for m in dump["volumeMounts"]} == {"/backup", "/tmp"}  # no CA: none was given


def test_the_data_stores_ca_is_mounted_where_the_database_url_names_it() -> None:
    pod = cron_job(replace(ARGS, ca_secret="helixflow-data-ca"))["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [dump] = pod["initContainers"]
    assert {"name": "data-ca", "mountPath": "/etc/helixflow/ca", "readOnly": True} in dump["volumeMounts"]
    assert {"name": "data-ca", "secret": {"secretName": "helixflow-data-ca", "defaultMode": 0o444}} in pod["volumes"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket_uri": "https://example.com/backups/"}, "must be s3://"),
        ({"bucket_uri": "s3://bucket/prefix"}, "must end with '/'"),
        ({"schedule": "daily"}, "five-field cron"),
        ({"namespace": "Helix_Flow"}, "not a Kubernetes name"),
        ({"image": "postgres:latest"}, "must be pinned"),
        ({"uploader_image": "amazon/aws-cli"}, "must be pinned"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_created(change: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(ARGS, **change).validate()  # type: ignore[arg-type]


# --- wired into the Kubernetes layer (the `kubernetes` target's program) ------------------------------------
def _layer(settings: dict[str, Any]) -> list[dict[str, Any]]:
    from tests.k8s.test_manifests import render as render_stack

    return render_stack(settings).objects


def test_the_kubernetes_target_runs_no_backup_job_until_given_a_bucket() -> None:
    objects = _layer({})
    assert not [o for o in objects if o["kind"] == "CronJob"]
    assert "db-backup" not in {o["metadata"]["name"] for o in objects if o["kind"] == "NetworkPolicy"}


def test_with_a_bucket_the_layer_runs_the_job_under_the_backup_account_with_the_runtime_database_url() -> None:
    role = {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/backup"}
    objects = _layer({"backup": {"bucket_uri": "s3://acme-backups/helixflow/", "schedule": "0 2 * * *",
                                 "service_account_annotations": role}})  # fmt: skip
    for obj in objects:
        kubernetes_validate.validate(obj, "1.34", strict=True)
    [cron] = [o for o in objects if o["kind"] == "CronJob" and o["metadata"]["name"] == "db-backup"]
    assert cron["spec"]["schedule"] == "0 2 * * *" and cron["metadata"]["namespace"] == "helixflow"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    accounts = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceAccount"}
    assert accounts[pod["serviceAccountName"]]["metadata"]["annotations"] == role
    secret = next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "helixflow-runtime")
    ref = pod["initContainers"][0]["env"][0]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    assert secret["stringData"][ref["key"]].startswith("postgresql://")
    policy = next(o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "db-backup")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels(cron).items()
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert {53, 5432, 443, 80} <= ports


def pod_labels(cron: dict[str, Any]) -> dict[str, str]:
    return dict(cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize(
    ("backup", "says"),
    [({"bucket_uri": "https://acme/backups/"}, "s3://bucket/prefix/"),
     ({"bucket_uri": "s3://acme/backups"}, "ending in '/'"),
     ({"bucket_uri": "s3://acme/b/", "schedule": "daily"}, "five-field cron")],
)  # fmt: skip
def test_a_bad_backup_setting_is_refused_naming_the_field(backup: dict[str, str], says: str) -> None:
    from helixflow.stacks.config import parse_config
    from helixflow.stacks.errors import HelixFlowError

    with pytest.raises(HelixFlowError, match=says):
        parse_config({"target": "kubernetes", "kubernetes": {"backup": backup}})
