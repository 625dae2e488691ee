"""Under mocks: the GKE pods that touch the bucket run under the Kubernetes service accounts that Workload
Identity lets act as the Google ones, each annotated with the Google account its grant was given to (the
workers read the model prefix, the backup CronJob creates objects under the prefix the lifecycle expires).
Names are read from the plan on both sides."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.gcp.conftest import PROJECT, Plan

pytestmark = pytest.mark.unit
PlanOf = Callable[..., Plan]
BUCKET_MODEL = {"source": "bucket", "uri": "gs://models-bucket/models/qwen/"}
ANNOTATION = "iam.gke.io/gcp-service-account"


def pod_of(plan: Plan, type_: str, name: str) -> dict[str, Any]:
    spec = next(r.inputs for r in plan.of(type_) if r.inputs["metadata"].get("name") == name)["spec"]
    return dict(spec["jobTemplate"]["spec"]["template"]["spec"] if "jobTemplate" in spec else spec["template"]["spec"])


def impersonators(plan: Plan) -> dict[str, str]:
    """`namespace/ksa` -> the Google account (resource name) it may act as, from the workloadIdentityUser grants."""
    found = {}
    for grant in plan.of("gcp:serviceaccount/iAMMember:IAMMember"):
        match = re.fullmatch(rf"serviceAccount:{PROJECT}\.svc\.id\.goog\[(.+)\]", grant.inputs["member"])
        assert match and grant.inputs["role"] == "roles/iam.workloadIdentityUser"
        found[match[1]] = grant.name.removesuffix("-workload-identity")
    return found


def bucket_role_of(plan: Plan, account: str) -> str:
    """The bucket role granted to the Google account of that resource name."""
    email = next(r for r in plan.of("gcp:serviceaccount/account:Account") if r.name == account).inputs["accountId"]
    [grant] = [g.inputs for g in plan.of("gcp:storage/bucketIAMMember:BucketIAMMember")
               if g.inputs["member"].startswith(f"serviceAccount:{email}@")]  # fmt: skip
    return str(grant["role"])


def test_workers_and_the_backup_job_run_under_the_accounts_workload_identity_binds(plan: PlanOf) -> None:
    p = plan(model=BUCKET_MODEL)
    bound = impersonators(p)
    ksas = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs
            for r in p.of("kubernetes:core/v1:ServiceAccount")}  # fmt: skip
    namespace = next(r for r in p.of("kubernetes:apps/v1:Deployment") if r.name.endswith("-workers")).inputs[
        "metadata"]["namespace"]  # fmt: skip
    roles = {}
    pods = (("kubernetes:apps/v1:Deployment", "sglang-worker"), ("kubernetes:batch/v1:CronJob", "db-backup"))
    for kind, name in pods:
        account = pod_of(p, kind, name)["serviceAccountName"]
        google = bound[f"{namespace}/{account}"]  # the grant names the very account the pod runs under
        ksa = ksas[(namespace, account)]
        email_id = next(r for r in p.of("gcp:serviceaccount/account:Account") if r.name == google).inputs["accountId"]
        assert ksa["metadata"]["annotations"][ANNOTATION].startswith(f"{email_id}@")
        assert ksa["automountServiceAccountToken"] is False  # the pods that need it ask for it
        roles[name] = bucket_role_of(p, google)
    assert roles == {"sglang-worker": "roles/storage.objectViewer", "db-backup": "roles/storage.objectCreator"}


def test_a_bucket_model_is_synced_with_gcloud_under_the_workers_identity(plan: PlanOf) -> None:
    worker = pod_of(plan(model=BUCKET_MODEL), "kubernetes:apps/v1:Deployment", "sglang-worker")
    assert worker["automountServiceAccountToken"] is True
    [fetch] = worker["initContainers"]
    assert fetch["image"].startswith("gcr.io/google.com/cloudsdktool/google-cloud-cli:")
    assert fetch["command"] == ["gcloud", "storage", "rsync", "--recursive", BUCKET_MODEL["uri"], "/models/model"]


def test_the_backup_job_dumps_into_the_bucket_prefix_the_lifecycle_expires(plan: PlanOf) -> None:
    p = plan()
    bucket = p.one("gcp:storage/bucket:Bucket")
    [expiring] = [r["condition"]["matchesPrefixes"][0] for r in bucket.inputs["lifecycleRules"]
                  if r["condition"].get("matchesPrefixes")]  # fmt: skip
    cron = p.named("hf-unit-k8s-backup-cronjob", "kubernetes:batch/v1:CronJob").inputs
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    uri = next(e["value"] for e in pod["containers"][0]["env"] if e["name"] == "BUCKET_URI")
    assert uri == f"gs://{bucket.name}/{expiring}"
    assert pod["containers"][0]["command"][:3] == ["gcloud", "storage", "cp"]
    assert cron["spec"]["schedule"] == "17 3 * * *"
    # the runtime's URL names sslrootcert=/etc/helixflow/ca/postgres-ca.pem: pg_dump finds it there too
    assert {"name": "data-ca", "mountPath": "/etc/helixflow/ca", "readOnly": True} in pod["initContainers"][0][
        "volumeMounts"]  # fmt: skip
    restore = p.named("hf-unit-k8s-restore-cronjob", "kubernetes:batch/v1:CronJob").inputs
    restore_pod = restore["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert {"name": "data-ca", "mountPath": "/etc/helixflow/ca", "readOnly": True} in restore_pod["initContainers"][1][
        "volumeMounts"]  # fmt: skip
