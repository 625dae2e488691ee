"""Under Pulumi's mocks: the pods that touch the bucket run under the very service accounts the EKS Pod
Identity associations bind, and each such account's role grants what that pod does (the workers read the
model prefix, the backup CronJob writes the prefix the lifecycle rule expires). Names are read from the plan
on both sides, never written into the test."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.aws.conftest import Plan

pytestmark = pytest.mark.unit
Planner = Callable[..., Plan]
BUCKET_MODEL = {"source": "bucket", "uri": "s3://models-bucket/models/qwen/"}
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"


def bound_accounts(plan: Plan) -> dict[str, tuple[str, list[str]]]:
    """service account -> (namespace, the actions its role's policy allows), through the association's name
    (each association, role and policy share one name)."""
    policies = {r.name: json.loads(r.properties["policy"]) for r in plan.of("aws:iam/rolePolicy:RolePolicy")}
    bound = {}
    for association in plan.of(ASSOCIATION):
        props = association.properties
        statements = policies[association.name]["Statement"]
        actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
        bound[props["serviceAccount"]] = (props["namespace"], actions)
    return bound


def pod_of(plan: Plan, type_: str, name: str) -> dict[str, Any]:
    obj = next(r.properties for r in plan.of(type_) if r.properties["metadata"].get("name") == name)
    spec = obj["spec"]
    return dict(spec["jobTemplate"]["spec"]["template"]["spec"] if "jobTemplate" in spec else spec["template"]["spec"])


def test_workers_and_the_backup_job_run_under_the_accounts_their_grants_bind(plan: Planner) -> None:
    p = plan(model=BUCKET_MODEL)
    bound = bound_accounts(p)
    worker = pod_of(p, "kubernetes:apps/v1:Deployment", "sglang-worker")
    backup = pod_of(p, "kubernetes:batch/v1:CronJob", "db-backup")
    namespace, worker_actions = bound[worker["serviceAccountName"]]
    assert "s3:GetObject" in worker_actions and "s3:PutObject" not in worker_actions
    backup_namespace, backup_actions = bound[backup["serviceAccountName"]]
    assert "s3:PutObject" in backup_actions and "s3:GetObject" not in backup_actions
    deployment = next(r for r in p.of("kubernetes:apps/v1:Deployment") if r.name.endswith("-workers"))
    assert namespace == backup_namespace == deployment.properties["metadata"]["namespace"]
    # both accounts exist in that namespace, made by the layer; Pod Identity needs no annotation on them
    accounts = {r.properties["metadata"]["name"]: r.properties for r in p.of("kubernetes:core/v1:ServiceAccount")
                if r.properties["metadata"]["namespace"] == namespace}  # fmt: skip
    for name in (worker["serviceAccountName"], backup["serviceAccountName"]):
        assert "annotations" not in accounts[name]["metadata"]
        assert accounts[name]["automountServiceAccountToken"] is False


def test_only_pods_that_need_cloud_credentials_mount_their_token(plan: Planner) -> None:
    from_bucket, from_hub = plan(model=BUCKET_MODEL), plan()
    assert pod_of(from_bucket, "kubernetes:apps/v1:Deployment", "sglang-worker")["automountServiceAccountToken"] is True
    assert pod_of(from_hub, "kubernetes:apps/v1:Deployment", "sglang-worker")["automountServiceAccountToken"] is False
    assert pod_of(from_hub, "kubernetes:batch/v1:CronJob", "db-backup")["automountServiceAccountToken"] is True
    for name in ("gateway", "auth", "monitoring"):
        assert pod_of(from_bucket, "kubernetes:apps/v1:Deployment", name)["automountServiceAccountToken"] is False


def test_a_bucket_model_is_synced_into_the_model_path_before_sglang_starts(plan: Planner) -> None:
    worker = pod_of(plan(model=BUCKET_MODEL), "kubernetes:apps/v1:Deployment", "sglang-worker")
    [fetch] = worker["initContainers"]
    assert fetch["image"].startswith("amazon/aws-cli:")
    assert fetch["command"][:5] == ["aws", "s3", "sync", BUCKET_MODEL["uri"], "/models/model"]
    assert {"name": "models", "mountPath": "/models"} in fetch["volumeMounts"]
    sglang = worker["containers"][0]["command"]
    assert sglang[sglang.index("--model-path") + 1] == "/models/model"
    assert "initContainers" not in pod_of(plan(), "kubernetes:apps/v1:Deployment", "sglang-worker")


def test_the_backup_job_dumps_into_the_prefix_the_lifecycle_expires(plan: Planner) -> None:
    p = plan(bucket={"backup_prefix": "pg/"}, backup={"schedule": "5 1 * * *"})
    cron = next(r.properties for r in p.of("kubernetes:batch/v1:CronJob"))
    assert cron["spec"]["schedule"] == "5 1 * * *"
    upload = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    uri = next(e["value"] for e in upload["env"] if e["name"] == "BUCKET_URI")
    [lifecycle] = p.props("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    expiring = next(r for r in lifecycle["rules"] if r["id"] == "expire-backups")
    bucket = next(r for r in p.of("aws:s3/bucket:Bucket"))
    assert uri.startswith(f"s3://{bucket.properties['bucketPrefix']}")
    assert uri.endswith(f"/{expiring['filter']['prefix']}")
    policy = json.loads(next(r.properties["policy"] for r in p.of("aws:iam/rolePolicy:RolePolicy")
                             if r.name.endswith("-identities-backup")))  # fmt: skip
    written = next(s["Resource"] for s in policy["Statement"] if "s3:PutObject" in s["Action"])
    assert written.removeprefix("arn:aws:s3:::") == uri.removeprefix("s3://") + "*"


def test_the_backup_job_can_be_turned_off(plan: Planner) -> None:
    assert not plan(backup={"enabled": False}).of("kubernetes:batch/v1:CronJob")
