"""NetworkPolicies: default deny in the runtime's namespaces, then only the seed's flows.

    ingress controller -> gateway, auth      gateway -> auth, router, monitoring
    router -> workers                        gateway, auth, monitoring, migrations -> PostgreSQL, Redis
    Prometheus -> every metrics port         every pod -> DNS
    workers, backup and restore jobs -> HTTPS (the bucket) and the node-local credential endpoints of the pod
    identities; backup and restore jobs -> PostgreSQL
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods
from helixflow.components.k8s.pool import ROUTER_METRICS_PORT, ROUTER_PORT, WORKER_PORT
from helixflow.components.k8s.runtime import AUTH_PORT, GATEWAY_PORT, MONITORING_PORT

TYPE = "helixflow:k8s:NetworkPolicies"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
Ingress = k8s.networking.v1.NetworkPolicyIngressRuleArgs
Egress = k8s.networking.v1.NetworkPolicyEgressRuleArgs
Peer = k8s.networking.v1.NetworkPolicyPeerArgs
# Where pods exchange their service account for cloud credentials: the GKE metadata server (port 80, and 988
# under Dataplane V2) and the EKS Pod Identity agent; both link-local, on the node.
CREDENTIAL_ENDPOINTS = (("169.254.169.254/32", (80, 988)), ("169.254.170.23/32", (80,)))


@dataclass(frozen=True)
class NetworkArgs:
    namespace: str  # the runtime's
    data_namespace: str | None  # in-cluster data stores' namespace, if any
    ingress_namespace: str = "ingress-nginx"
    monitoring_namespace: str = "monitoring"
    bucket_jobs: tuple[str, ...] = ()  # the app labels of the backup and restore jobs' pods, when the layer runs them


def _app(app: str, namespace: str | None = None) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    pod = k8s.meta.v1.LabelSelectorArgs(match_labels={pods.APP_LABEL: app})
    ns = k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_LABEL: namespace}) if namespace else None
    return k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=pod, namespace_selector=ns)


def _namespace(namespace: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_LABEL: namespace}))


def _ports(*numbers: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(port=n, protocol="TCP") for n in numbers]


class NetworkPolicies(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        ns, child = args.namespace, pulumi.ResourceOptions(parent=self)
        prometheus = _namespace(args.monitoring_namespace)
        data_peer = [_namespace(args.data_namespace)] if args.data_namespace else []
        dns = k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[_namespace("kube-system")],
            ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=53, protocol=p) for p in ("UDP", "TCP")],
        )  # fmt: skip

        def policy(key: str, namespace: str, selector: dict[str, str], ingress: list[Ingress] | None,
                   egress: list[Egress] | None) -> None:  # fmt: skip
            types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{namespace}-{key}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=key, namespace=namespace, labels=pods.PART_OF),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector or None), policy_types=types,
                    ingress=ingress, egress=egress,
                ),
                opts=child,
            )  # fmt: skip

        def ingress(peers: list[Peer], *port: int) -> Ingress:
            return Ingress(from_=peers, ports=_ports(*port))

        def egress(peers: list[Peer], *port: int) -> Egress:
            return Egress(to=peers, ports=_ports(*port))

        credentials = [egress([Peer(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))], *ports)
                       for cidr, ports in CREDENTIAL_ENDPOINTS]  # fmt: skip

        data_ports = (5432, 6379)
        to_data = [egress(data_peer, *data_ports)] if data_peer else [egress([], *data_ports)]  # external: any address
        policy("default-deny", ns, {}, [], [])
        policy("gateway", ns, {pods.APP_LABEL: "gateway"},
               [ingress([_namespace(args.ingress_namespace)], GATEWAY_PORT), ingress([prometheus], GATEWAY_PORT)],
               [dns, egress([_app("auth")], AUTH_PORT), egress([_app("sglang-router")], ROUTER_PORT),
                egress([_app("monitoring")], MONITORING_PORT), *to_data])  # fmt: skip
        policy("auth", ns, {pods.APP_LABEL: "auth"},
               [ingress([_namespace(args.ingress_namespace), _app("gateway")], AUTH_PORT),
                ingress([prometheus], AUTH_PORT)],
               [dns, *to_data])  # fmt: skip
        policy("monitoring", ns, {pods.APP_LABEL: "monitoring"},
               [ingress([_app("gateway"), prometheus], MONITORING_PORT)],
               [dns, egress([_app("sglang-router")], ROUTER_PORT), *to_data])  # fmt: skip
        policy("migrate", ns, {pods.APP_LABEL: "migrate"}, [], [dns, *to_data])
        # the router reaches the Kubernetes API to discover its workers (the API server is outside any namespace)
        policy("sglang-router", ns, {pods.APP_LABEL: "sglang-router"},
               [ingress([_app("gateway"), _app("monitoring")], ROUTER_PORT),
                ingress([prometheus], ROUTER_METRICS_PORT)],
               [dns, egress([_app("sglang-worker")], WORKER_PORT), egress([], 443, 6443)])  # fmt: skip
        policy("sglang-worker", ns, {pods.APP_LABEL: "sglang-worker"},
               [ingress([_app("sglang-router")], WORKER_PORT), ingress([prometheus], WORKER_PORT)],
               [dns, egress([], 443), *credentials])  # fmt: skip  (model downloads: the hub or the bucket)
        for job in args.bucket_jobs:
            policy(job, ns, {pods.APP_LABEL: job}, [], [dns, *to_data, egress([], 443), *credentials])
        if args.data_namespace:
            runtime_peer = _namespace(ns)
            policy("default-deny", args.data_namespace, {}, [], [])
            policy("data-stores", args.data_namespace, {},
                   [ingress([runtime_peer], *data_ports), ingress([prometheus], *data_ports)], [dns])  # fmt: skip
        self.register_outputs({})
