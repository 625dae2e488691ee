"""Offline, under Pulumi's mocks: a tenant's Kubernetes objects validate strictly against the Kubernetes
schema, isolate the tenant, and are what the tenant program creates on a cluster platform (and only there)."""

from __future__ import annotations

import asyncio
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from helixflow.components.k8s.tenant import DedicatedPool, TenantArgs, TenantResources
from helixflow.runtime.pool.sglang_worker import SGLangWorkerSpec
from helixflow.stacks.tenants.program import ClusterTenant, TenantContext, build_tenant_program
from helixflow.stacks.tenants.spec import TenantSpec
from tests.k8s.test_manifests import Recorder

PLATFORM_OUTPUTS = {"endpoint": "https://localhost:8443", "admin_api_key": "hf_x", "ca_file": "/ca.crt",
                    "kubeconfig": "/kubeconfig", "context": "", "namespace": "helixflow"}  # fmt: skip


class PlatformRecorder(Recorder):
    """Also answers the StackReference to the platform with its outputs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            self.components.append(args.typ)
            return args.name, {"name": args.name, "outputs": PLATFORM_OUTPUTS, "secretOutputNames": []}
        if args.typ == "pulumi-python:dynamic:Resource":
            self.components.append(args.typ)
        return super().new_resource(args)


def run(program: Any) -> PlatformRecorder:
    asyncio.set_event_loop(asyncio.new_event_loop())
    recorder = PlatformRecorder()
    pulumi.runtime.set_mocks(recorder, project="helixflow", stack="unit.tenant.acme", preview=False)
    pulumi.runtime.test(program)()
    return recorder


def tenant_args(**changes: Any) -> TenantArgs:
    pool = DedicatedPool(runtime_image="ghcr.io/helixflow/runtime:0.1.0", sglang_image="lmsysorg/sglang:v0.5.23",
                         worker=SGLangWorkerSpec(model_path="org/model", gpus=2, tp_size=2), pool_api_key="k",
                         workers=2)  # fmt: skip
    values: dict[str, Any] = {"tenant": "acme", "namespace": "helixflow-tenant-acme", "platform_namespace": "helixflow",
                              "gpus": 4, "pool": pool, **changes}  # fmt: skip
    return TenantArgs(**values)


def render(args: TenantArgs) -> list[dict[str, Any]]:
    return run(lambda: TenantResources("acme", args)).objects


@pytest.mark.parametrize("with_pool", [True, False])
def test_every_object_validates_strictly_against_the_kubernetes_schema(with_pool: bool) -> None:
    objects = render(tenant_args() if with_pool else tenant_args(pool=None))
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy"} <= kinds
    assert ("Deployment" in kinds) == with_pool
    for obj in objects:
        kubernetes_validate.validate(obj, "1.34", strict=True)  # raises on an unknown or misplaced field


def test_the_quota_caps_gpus_cpu_and_memory_and_the_namespace_is_restricted() -> None:
    objects = render(tenant_args(gpus=4, cpu="34", memory="388Gi"))
    quota = next(o for o in objects if o["kind"] == "ResourceQuota")
    assert quota["metadata"]["namespace"] == "helixflow-tenant-acme"
    assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "4"
    assert (quota["spec"]["hard"]["requests.cpu"], quota["spec"]["hard"]["limits.memory"]) == ("34", "388Gi")
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespace["metadata"]["labels"]["helixflow.io/tenant"] == "acme"
    limits = next(o for o in objects if o["kind"] == "LimitRange")["spec"]["limits"][0]
    assert limits["default"] and limits["defaultRequest"]


def test_network_policies_deny_by_default_and_admit_only_the_platform_and_its_own_pods() -> None:
    policies = {o["metadata"]["name"]: o["spec"] for o in render(tenant_args()) if o["kind"] == "NetworkPolicy"}
    deny = policies["default-deny"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny or deny["ingress"] == []
    ingress_from = [peer for spec in policies.values() for rule in spec.get("ingress", []) for peer in rule["from"]]
    namespaces = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                  for p in ingress_from if "namespaceSelector" in p}  # fmt: skip
    assert namespaces == {"helixflow", "monitoring"}  # no other tenant's namespace may reach it
    assert policies["same-namespace"]["ingress"] == [{"from": [{"podSelector": {}}]}]


def test_the_dedicated_pool_routes_only_to_the_tenants_own_workers() -> None:
    objects = render(tenant_args())
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    router = deployments["sglang-router"]
    assert router["metadata"]["namespace"] == "helixflow-tenant-acme"
    command = router["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--service-discovery-namespace") + 1] == "helixflow-tenant-acme"
    workers = deployments["sglang-worker"]
    assert workers["spec"]["replicas"] == 2
    assert workers["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"gpus": 2}, "needs 4 GPUs but the tenant's quota allows 2"), ({"namespace": "Tenant_A"}, "not a DNS label")],
)
def test_bad_arguments_are_refused_before_any_resource(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tenant_args(**changes).validate()


def test_on_a_cluster_platform_the_program_adds_the_tenants_resources() -> None:
    cluster = ClusterTenant(namespace="helixflow-tenant-acme", platform_namespace="helixflow",
                            runtime_image="r:1", sglang_image="s:1", gpus_per_worker=1)  # fmt: skip
    spec = TenantSpec(name="acme", gpus=1)
    recorder = run(build_tenant_program(spec, TenantContext(platform="unit", admin_api=True, cluster=cluster)))
    assert "pulumi:pulumi:StackReference" in recorder.components
    assert "helixflow:k8s:TenantResources" in recorder.components
    assert "pulumi-python:dynamic:Resource" in recorder.components  # the tenant's record, through the admin API
    assert {o["kind"] for o in recorder.objects} >= {"Namespace", "ResourceQuota"}


def test_on_a_local_platform_the_program_is_only_the_record() -> None:
    spec = TenantSpec(name="acme")
    recorder = run(build_tenant_program(spec, TenantContext(platform="unit", admin_api=True, cluster=None)))
    assert recorder.objects == []
    assert recorder.components.count("pulumi-python:dynamic:Resource") == 1
