"""Under Pulumi's mocks: on a cluster a tenant's runtime record is a Secret with its preset key and a Job in the
runtime's namespace (no admin-API call from the CLI), the key derived from the tenant stack's seed and handed
back; a quota change is a new Job; the retire run's Job revokes; every object validates strictly."""

from __future__ import annotations

import asyncio
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from helixflow.components.k8s.tenant_record import KEY_ENV, TenantRecordArgs
from helixflow.runtime.security.api_keys import derive_api_key
from helixflow.stacks.tenants.program import KEY_SEED_CONFIG, ClusterTenant, TenantContext, build_tenant_program
from helixflow.stacks.tenants.spec import TenantSpec
from tests.tenants.test_tenant_manifests import PlatformRecorder

pytestmark = pytest.mark.unit

CLUSTER = ClusterTenant(namespace="helixflow-tenant-acme", platform_namespace="helixflow",
                        runtime_image="ghcr.io/helixflow/runtime:0.1.0", sglang_image="s:1",
                        gpus_per_worker=1)  # fmt: skip
SEED = "0123456789abcdef" * 4


def render(spec: TenantSpec, retire: bool = False) -> tuple[PlatformRecorder, list[str]]:
    asyncio.set_event_loop(asyncio.new_event_loop())
    recorder = PlatformRecorder()
    pulumi.runtime.set_mocks(recorder, project="helixflow", stack="unit.tenant.acme", preview=False)
    pulumi.runtime.set_all_config({f"helixflow:{KEY_SEED_CONFIG}": SEED}, [f"helixflow:{KEY_SEED_CONFIG}"])
    handed: list[str] = []
    context = TenantContext(platform="unit", admin_api=False, cluster=CLUSTER, retire=retire)
    pulumi.runtime.test(build_tenant_program(spec, context, on_api_key=handed.append))()
    return recorder, handed


def by_kind(recorder: PlatformRecorder, kind: str) -> list[dict[str, Any]]:
    return [o for o in recorder.objects if o["kind"] == kind]


def test_the_record_is_a_job_in_the_runtime_namespace_with_the_preset_key() -> None:
    recorder, handed = render(TenantSpec(name="acme", plan="free", requests_per_minute=90))
    assert "pulumi-python:dynamic:Resource" not in recorder.components  # nothing calls the admin API
    assert "helixflow:k8s:TenantRecordJob" in recorder.components
    key = derive_api_key(SEED, "tenant:acme")
    assert handed == [key]  # handed back by the run that makes it
    secret = next(s for s in by_kind(recorder, "Secret") if s["metadata"]["name"] == "helixflow-tenant-acme")
    assert secret["metadata"]["namespace"] == "helixflow" and secret["stringData"] == {KEY_ENV: key}
    (job,) = by_kind(recorder, "Job")
    assert job["metadata"]["namespace"] == "helixflow"
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == CLUSTER.runtime_image
    assert container["command"] == ["python", "-m", "helixflow.runtime.bootstrap", "tenant", "acme",
                                    "--rpm", "90", "--tpm", "20000", "--monthly-tokens", "1000000"]  # fmt: skip
    sources = [s["secretRef"]["name"] for s in container["envFrom"]]
    assert sources == ["helixflow-runtime", "helixflow-tenant-acme"]  # the services' database and Redis settings
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsNonRoot"] is True
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "migrate"  # its egress policy
    for obj in (secret, job):
        kubernetes_validate.validate(obj, "1.34", strict=True)


def test_unlimited_quotas_are_passed_as_none_and_retiring_runs_a_revoking_job() -> None:
    recorder, _ = render(TenantSpec(name="acme", plan="enterprise"))
    assert by_kind(recorder, "Job")[0]["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "acme"
    recorder, _ = render(TenantSpec(name="acme"), retire=True)
    (job,) = by_kind(recorder, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == ["acme", "--retire"]


def test_a_record_without_a_namespace_or_image_is_refused() -> None:
    with pytest.raises(ValueError, match="needs the tenant"):
        TenantRecordArgs(tenant="acme", runtime_namespace="", image="r:1", api_key="k").validate()


def test_a_cluster_tenant_is_recorded_by_the_job_unless_the_admin_api_recorded_it_before(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from helixflow.stacks.tenants.driver import tenant_context

    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path))
    (tmp_path / "project").mkdir()
    platform = {"config": {"helixflow:target": "kubernetes"}}
    (tmp_path / "project" / "Pulumi.prod.yaml").write_text(yaml.safe_dump(platform))
    outputs = {"kubeconfig": "/k", "namespace": "helixflow", "endpoint": "https://api.example.com",
               "admin_api_key": "x"}  # fmt: skip
    spec = TenantSpec(name="acme")
    assert tenant_context("prod", spec, outputs).admin_api is False  # even with a domain: the CLI may not reach it
    assert tenant_context("prod", spec, outputs, recorded={"tenant_id": "t-1"}).admin_api is True
    assert tenant_context("prod", spec, {"endpoint": "https://localhost:8443", "admin_api_key": "x"}).admin_api
