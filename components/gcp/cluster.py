"""Regional GKE for GPU work: private nodes, Workload Identity, a release channel, Dataplane V2
(network policies enforced), shielded nodes, no default pool; a node service account with logging and
metrics only; a system pool and one pool per GPU spec (nodepools.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from helixflow.components.gcp.identity import account_id
from helixflow.components.gcp.network import PODS_RANGE, SERVICES_RANGE
from helixflow.components.gcp.nodepools import NodePoolSpec, node_pool

TYPE = "helixflow:gcp:GpuCluster"
NODE_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
              "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader")  # fmt: skip


@dataclass(frozen=True)
class GpuClusterArgs:
    project: str
    region: str
    zones: Sequence[str]
    system_pool: NodePoolSpec
    gpu_pools: Sequence[NodePoolSpec]
    release_channel: str = "REGULAR"
    master_cidr: str = "172.16.0.0/28"
    public_endpoint: bool = True
    authorized_networks: Sequence[str] = ("0.0.0.0/0",)
    deletion_protection: bool = True
    network: pulumi.Input[str] = ""  # filled in by GcpPlatform from the Network
    subnetwork: pulumi.Input[str] = ""
    labels: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.release_channel not in ("RAPID", "REGULAR", "STABLE"):
            raise ValueError(f"release_channel {self.release_channel!r}: use RAPID, REGULAR or STABLE")
        if not self.zones:
            raise ValueError("zones: give the cluster at least one zone")
        names = [self.system_pool.name, *(p.name for p in self.gpu_pools)]
        if len(set(names)) != len(names):
            raise ValueError(f"node pool names must differ (got {', '.join(names)})")
        for spec in (self.system_pool, *self.gpu_pools):
            spec.validate()
        if self.system_pool.accelerator is not None or any(p.accelerator is None for p in self.gpu_pools):
            raise ValueError("the system pool carries no GPUs; every gpu_pools entry does")


class GpuCluster(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for pools or settings GKE would refuse."""

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    ca_certificate: pulumi.Output[str]
    workload_pool: pulumi.Output[str]
    node_pools: list[gcp.container.NodePool]

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        nodes_sa = gcp.serviceaccount.Account(f"{name}-nodes", account_id=account_id(name, "nodes"),
                                              display_name=f"GKE nodes of {name}", opts=child)  # fmt: skip
        for role in NODE_ROLES:
            gcp.projects.IAMMember(f"{name}-nodes-{role.rsplit('.', 1)[-1]}", project=args.project, role=role,
                                   member=nodes_sa.member, opts=child)  # fmt: skip
        cluster = gcp.container.Cluster(
            name, location=args.region, node_locations=list(args.zones), network=args.network,
            subnetwork=args.subnetwork, remove_default_node_pool=True, initial_node_count=1,
            deletion_protection=args.deletion_protection, resource_labels=args.labels or None,
            networking_mode="VPC_NATIVE", datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2 enforces policies
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=PODS_RANGE, services_secondary_range_name=SERVICES_RANGE),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True, enable_private_endpoint=not args.public_endpoint,
                master_ipv4_cidr_block=args.master_cidr),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=cidr, display_name=f"authorized-{index}")
                    for index, cidr in enumerate(args.authorized_networks)]),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{args.project}.svc.id.goog"),
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel),
            enable_shielded_nodes=True,
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                    issue_client_certificate=False)),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gcs_fuse_csi_driver_config=gcp.container.ClusterAddonsConfigGcsFuseCsiDriverConfigArgs(enabled=True)),
            logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=["SYSTEM_COMPONENTS",
                                                                                     "WORKLOADS"]),
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=["SYSTEM_COMPONENTS"],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True)),
            opts=child,
        )  # fmt: skip
        pools = [args.system_pool, *args.gpu_pools]
        self.node_pools = [
            node_pool(f"{name}-{spec.name}", cluster.name, args.region, spec, nodes_sa.email, child)
            for spec in pools
        ]
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.ca_certificate = cluster.master_auth.apply(lambda auth: str(auth.cluster_ca_certificate or ""))
        self.workload_pool = pulumi.Output.from_input(f"{args.project}.svc.id.goog")
        self.register_outputs({"cluster_name": self.cluster_name, "endpoint": self.endpoint,
                               "workload_pool": self.workload_pool})  # fmt: skip
