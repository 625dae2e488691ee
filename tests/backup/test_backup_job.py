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
    assert "pg_dump --format=custom --compress=6" in script and 'pg_restore --list "/backup/$name.partial"' in script
    assert 'sha256sum "$name" > "$name.sha256"' in script
    [url] = dump["env"]
    assert url["valueFrom"]["secretKeyRef"] == {"name": "helixflow-runtime", "key": "HELIXFLOW_DATABASE_URL"}


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
