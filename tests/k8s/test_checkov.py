"""checkov over every Kubernetes object HelixFlow renders and over its Dockerfiles, offline: no failed check
unless tests/k8s/checkov-waivers.yaml waives it for that object, with its reason (issue 13).

The objects are rendered as tests/k8s/test_manifests.py renders them for kubernetes-validate: the kubernetes
target's layer in its main configurations, the same layer as the AWS and GCP examples put it on their
clusters (the plan runner under mocks), the backup CronJob and a tenant's resources. The add-ons' Helm charts
are third-party and not rendered offline: their releases are not scanned.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from helixflow.stacks.driver import load_config_file
from helixflow.stacks.plan import plan_resources
from tests.k8s.checkov_scan import Finding, load_waivers, run_checkov, unused, unwaived
from tests.k8s.test_manifests import as_manifest, render

# ~12 s on this machine (the two cloud plans ~5 s, checkov ~6 s): past the unit tier's few seconds.
pytestmark = pytest.mark.services
REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = ("templates/runtime/Dockerfile", "templates/sglang-worker/Dockerfile")
EXTERNAL_DATA = {"mode": "external", "postgres_url": "postgresql://u:p@db.example.com/h?sslmode=verify-full",
                 "redis_url": "rediss://default:p@cache.example.com:6379/0"}  # fmt: skip
DOMAIN = {"domain": "api.example.com", "acme_email": "ops@example.com"}
INSTALL_ADDONS = {name: "install" for name in ("ingress_nginx", "cert_manager", "kube_prometheus_stack",
                                               "nvidia_device_plugin", "dcgm_exporter")}  # fmt: skip
# the kubernetes target: (its `kubernetes:` section, the stack's shared settings)
KUBERNETES_CONFIGURATIONS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "kubernetes-in-cluster": ({}, {}),
    "kubernetes-in-cluster-domain-addons": ({"addons": INSTALL_ADDONS}, DOMAIN),
    "kubernetes-external": ({"data": EXTERNAL_DATA}, {}),
    "kubernetes-external-domain-addons-slack": (
        {"data": EXTERNAL_DATA, "addons": INSTALL_ADDONS, "alerting": {"slack_secret": "slack-webhook"}}, DOMAIN),
}  # fmt: skip
CLOUD_EXAMPLES = {"aws-gpu": "examples/aws-gpu/Pulumi.gpu-prod.yaml",
                  "gcp-gpu": "examples/gcp-gpu/Pulumi.gpu-prod.yaml"}  # fmt: skip


def kubernetes_target(settings: dict[str, Any], shared: dict[str, Any]) -> list[dict[str, Any]]:
    recorder = render(settings, **shared)
    return recorder.objects + recorder.custom


def cloud_layer(example: str) -> list[dict[str, Any]]:
    """The Kubernetes objects a cloud stack puts on its cluster, from the plan runner's records."""
    planned = plan_resources(load_config_file(REPO / example), stack="gpu-prod")
    return [m for r in planned if (m := as_manifest(r.type, dict(r.properties))) is not None]


def backup_and_tenant() -> dict[str, list[dict[str, Any]]]:
    from dataclasses import replace

    from tests.backup.test_backup_job import ARGS, cron_job
    from tests.tenants.test_tenant_manifests import render as render_tenant
    from tests.tenants.test_tenant_manifests import tenant_args

    return {"backup-s3": [cron_job()], "backup-gcs": [cron_job(replace(ARGS, bucket_uri="gs://hf-prod/backups/"))],
            "tenant-dedicated-pool": render_tenant(tenant_args())}  # fmt: skip


NON_COMPLIANT = "deliberately-non-compliant"  # scanned in the same run: the scan can fail
NON_COMPLIANT_POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "careless", "namespace": "helixflow"},
    "spec": {"containers": [{"name": "app", "image": "busybox:latest", "securityContext": {"privileged": True}}]},
}  # fmt: skip
NON_COMPLIANT_DOCKERFILE = "FROM python:latest\nADD app.py /app.py\nCMD python /app.py\n"


def write_scan_folder(folder: Path) -> dict[str, int]:
    """Every source's objects as one multi-document manifest, the Dockerfiles at their repository paths, and
    the deliberately non-compliant samples. Returns the number of objects per source."""
    sources = {name: kubernetes_target(*c) for name, c in KUBERNETES_CONFIGURATIONS.items()}
    sources |= {name: cloud_layer(path) for name, path in CLOUD_EXAMPLES.items()}
    sources |= backup_and_tenant()
    (folder / "manifests").mkdir(parents=True)
    for name, objects in sources.items():
        assert objects, f"{name} rendered no Kubernetes object"
        (folder / "manifests" / f"{name}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    for dockerfile in DOCKERFILES:
        (folder / dockerfile).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / dockerfile, folder / dockerfile)
    (folder / NON_COMPLIANT).mkdir()
    (folder / NON_COMPLIANT / "careless.yaml").write_text(yaml.safe_dump(NON_COMPLIANT_POD))
    (folder / NON_COMPLIANT / "Dockerfile").write_text(NON_COMPLIANT_DOCKERFILE)
    return {name: len(objects) for name, objects in sources.items()}


@dataclass(frozen=True)
class Scan:
    frameworks: list[str]
    passed: list[Finding]  # HelixFlow's own
    findings: list[Finding]  # HelixFlow's own failed checks
    non_compliant: list[Finding]  # the samples' failed checks
    objects: dict[str, int]
    seconds: float


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    started = time.monotonic()
    folder = tmp_path_factory.mktemp("checkov")
    objects = write_scan_folder(folder)
    report = run_checkov(folder)
    def sample(finding: Finding) -> bool:
        return finding.file.startswith(f"{NON_COMPLIANT}/")

    return Scan(report.frameworks, [f for f in report.passed if not sample(f)],
                [f for f in report.failed if not sample(f)], [f for f in report.failed if sample(f)],
                objects, time.monotonic() - started)  # fmt: skip


def test_every_failed_check_is_waived_with_its_reason(scan: Scan) -> None:
    assert sorted(scan.frameworks) == ["dockerfile", "kubernetes"], scan.frameworks
    assert scan.objects["aws-gpu"] > 30 and scan.objects["gcp-gpu"] > 30  # the layer reached the clouds' clusters
    left = unwaived(scan.findings, load_waivers())
    assert not left, "checkov findings without a waiver (fix them in components/k8s, or waive them in " \
        "tests/k8s/checkov-waivers.yaml with the reason):\n" + "\n".join(sorted({str(f) for f in left}))
    passed, waived = Counter(f.framework for f in scan.passed), Counter(f.framework for f in scan.findings)
    print(f"\ncheckov: {sum(scan.objects.values())} objects from {len(scan.objects)} sources and "
          f"{len(DOCKERFILES)} Dockerfiles; passed {dict(passed)}, failed and waived {dict(waived)} "
          f"({len({(f.check, f.resource) for f in scan.findings})} distinct check and object); {scan.seconds:.1f} s")


def test_every_waiver_still_covers_a_finding(scan: Scan) -> None:
    stale = unused(scan.findings, load_waivers())
    assert not stale, "waivers that cover nothing any more: remove them from tests/k8s/checkov-waivers.yaml\n" + \
        "\n".join(stale)  # fmt: skip


def test_a_non_compliant_object_and_dockerfile_are_reported_and_not_waived(scan: Scan) -> None:
    """The scan can fail: a privileged pod without limits on a `latest` image, and a Dockerfile with no USER on
    a `latest` base, are findings that no waiver covers."""
    found = {(f.check, f.resource) for f in unwaived(scan.non_compliant, load_waivers())}
    pod = "Pod.helixflow.careless"
    assert {("CKV_K8S_16", pod), ("CKV_K8S_11", pod), ("CKV_K8S_14", pod)} <= found  # privileged, limits, tag
    dockerfile = f"{NON_COMPLIANT}/Dockerfile"
    assert {("CKV_DOCKER_3", dockerfile), ("CKV_DOCKER_7", dockerfile)} <= found  # no USER, the latest tag
