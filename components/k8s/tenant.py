"""A tenant on a cluster: its namespace (Pod Security `restricted`), a ResourceQuota (GPUs, CPU, memory, pods),
a LimitRange (defaults for containers that set none), NetworkPolicies that isolate it (default deny; its own
pods, DNS, the platform's runtime and Prometheus may reach it), and optionally a dedicated worker pool:
its own sglang-router discovering only the SGLang workers in the tenant's namespace."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods
from helixflow.components.k8s.network import NAMESPACE_LABEL
from helixflow.components.k8s.pool import (
    GPU,
    POOL_KEY_ENV,
    ROUTER_METRICS_PORT,
    ROUTER_PORT,
    WORKER_PORT,
    GpuPlacement,
    InferencePool,
    PoolArgs,
)
from helixflow.runtime.pool.sglang_worker import SGLangWorkerSpec

TYPE = "helixflow:k8s:TenantResources"
TENANT_LABEL = "helixflow.io/tenant"
DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
Ingress = k8s.networking.v1.NetworkPolicyIngressRuleArgs
Egress = k8s.networking.v1.NetworkPolicyEgressRuleArgs
Peer = k8s.networking.v1.NetworkPolicyPeerArgs


@dataclass(frozen=True)
class DedicatedPool:
    """The tenant's own SGLang workers (and router) in its namespace."""

    runtime_image: str
    sglang_image: str
    worker: SGLangWorkerSpec
    pool_api_key: pulumi.Input[str]
    workers: int = 1
    placement: GpuPlacement = field(default_factory=GpuPlacement)


@dataclass(frozen=True)
class TenantArgs:
    tenant: str
    namespace: str  # the tenant's own
    platform_namespace: str  # the runtime's: its gateway and router may call into the tenant's pool
    gpus: int = 0
    cpu: str = "4"
    memory: str = "16Gi"
    max_pods: int = 50
    pool: DedicatedPool | None = None
    monitoring_namespace: str = "monitoring"
    labels: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        """Raises ValueError before any resource is created."""
        for what, value in (("namespace", self.namespace), ("platform namespace", self.platform_namespace)):
            if not re.fullmatch(DNS_LABEL, value):
                raise ValueError(f"{what} {value!r} is not a DNS label (lowercase, digits, '-', at most 63)")
        if self.gpus < 0 or self.max_pods < 1:
            raise ValueError("gpus must be >= 0 and max_pods >= 1")
        if self.pool is not None:
            needed = self.pool.worker.gpus * self.pool.workers
            if needed > self.gpus:
                raise ValueError(f"the dedicated pool needs {needed} GPUs but the tenant's quota allows {self.gpus}")


def _peer_namespace(namespace: str) -> Peer:
    return Peer(namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_LABEL: namespace}))


def _ports(*numbers: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(port=n, protocol="TCP") for n in numbers]


class TenantResources(pulumi.ComponentResource):
    """Raises ValueError for bad arguments. `namespace` is the tenant's namespace name."""

    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        self._args = args
        self._labels = {**pods.PART_OF, TENANT_LABEL: args.tenant, **args.labels}
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels={
                **self._labels, "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest"}),
            opts=pulumi.ResourceOptions(parent=self),
        )  # fmt: skip
        # everything else lives in the namespace: created after it, deleted before it
        child = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        self._quota(name, child)
        self._policies(name, child)
        if args.pool is not None:
            self._pool(name, args.pool, child)
        self.namespace = pulumi.Output.from_input(args.namespace)
        self.register_outputs({"namespace": self.namespace})

    def _meta(self, name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=self._args.namespace, labels=self._labels)

    def _quota(self, name: str, child: pulumi.ResourceOptions) -> None:
        a = self._args
        k8s.core.v1.ResourceQuota(
            f"{name}-quota", metadata=self._meta("tenant-quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard={
                f"requests.{GPU}": str(a.gpus), "requests.cpu": a.cpu, "limits.cpu": a.cpu,
                "requests.memory": a.memory, "limits.memory": a.memory, "pods": str(a.max_pods)}),
            opts=child,
        )  # fmt: skip
        # a quota on limits.cpu refuses pods without limits: the LimitRange gives them defaults
        k8s.core.v1.LimitRange(
            f"{name}-limits", metadata=self._meta("tenant-defaults"),
            spec=k8s.core.v1.LimitRangeSpecArgs(limits=[k8s.core.v1.LimitRangeItemArgs(
                type="Container", default={"cpu": "500m", "memory": "512Mi"},
                default_request={"cpu": "100m", "memory": "128Mi"})]),
            opts=child,
        )  # fmt: skip

    def _policies(self, name: str, child: pulumi.ResourceOptions) -> None:
        a = self._args

        def policy(key: str, ingress: list[Ingress] | None, egress: list[Egress] | None) -> None:
            types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{key}", metadata=self._meta(key),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                                                             policy_types=types, ingress=ingress, egress=egress),
                opts=child,
            )  # fmt: skip

        same_namespace = Peer(pod_selector=k8s.meta.v1.LabelSelectorArgs())
        policy("default-deny", [], [])
        policy("same-namespace", [Ingress(from_=[same_namespace])], [Egress(to=[same_namespace])])
        policy("dns", None, [Egress(to=[_peer_namespace("kube-system")],
                                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol=p)
                                           for p in ("UDP", "TCP")])])  # fmt: skip
        policy("from-platform", [Ingress(from_=[_peer_namespace(a.platform_namespace)],
                                         ports=_ports(ROUTER_PORT, WORKER_PORT))], None)  # fmt: skip
        policy("from-monitoring", [Ingress(from_=[_peer_namespace(a.monitoring_namespace)],
                                           ports=_ports(ROUTER_METRICS_PORT, WORKER_PORT))], None)  # fmt: skip
        if a.pool is not None:  # model downloads (HTTPS) and the router's worker discovery (the API server)
            policy("egress-https", None, [Egress(ports=_ports(443, 6443))])

    def _pool(self, name: str, pool: DedicatedPool, child: pulumi.ResourceOptions) -> None:
        a = self._args
        secret = k8s.core.v1.Secret(
            f"{name}-pool-secret", metadata=self._meta("tenant-pool"),
            string_data={POOL_KEY_ENV: pulumi.Output.secret(pool.pool_api_key)}, opts=child,
        )  # fmt: skip
        InferencePool(
            f"{name}-pool",
            PoolArgs(namespace=a.namespace, runtime_image=pool.runtime_image, sglang_image=pool.sglang_image,
                     secret_name="tenant-pool", worker=pool.worker, workers=pool.workers, router_replicas=1,
                     placement=pool.placement),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
        )  # fmt: skip
