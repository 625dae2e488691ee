"""GKE node pools: the system pool, and one pool per GPU shape and capacity mode as the public blueprints
(GoogleCloudPlatform/accelerated-platforms) build them: the accelerator with the driver GKE installs
(LATEST), autoscaling from zero with `location_policy ANY`, the `nvidia.com/gpu` NoSchedule taint, and
compact placement, a reservation or Dynamic Workload Scheduler (queued provisioning) where asked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp as gcp

GPU_TAINT = "nvidia.com/gpu"
GPU_LABEL = "nvidia.com/gpu.present"  # what the SGLang workers select (GpuPlacement's default)
Capacity = Literal["on-demand", "spot", "reservation", "queued"]
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]  # access is narrowed by IAM, not by scopes


@dataclass(frozen=True)
class NodePoolSpec:
    name: str
    machine_type: str
    min_nodes: int
    max_nodes: int
    zones: tuple[str, ...] = ()  # empty: the cluster's zones
    disk_size_gb: int = 100
    disk_type: str = "pd-balanced"
    accelerator: str | None = None  # a GPU pool: its guest accelerator type
    gpus_per_node: int = 0
    gpu: str = ""
    capacity: Capacity = "on-demand"
    reservation: str | None = None
    compact_placement: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.max_nodes < self.min_nodes:
            raise ValueError(f"node pool {self.name}: max_nodes {self.max_nodes} is below min_nodes {self.min_nodes}")
        if (self.accelerator is None) != (self.gpus_per_node == 0):
            raise ValueError(f"node pool {self.name}: a GPU pool needs both accelerator and gpus_per_node")
        if self.capacity == "reservation" and not self.reservation:
            raise ValueError(f"node pool {self.name}: capacity reservation needs the reservation's name")
        if self.capacity == "queued" and self.min_nodes:
            raise ValueError(f"node pool {self.name}: queued provisioning scales from zero only (min_nodes 0)")
        if self.compact_placement and len(self.zones) != 1:
            raise ValueError(f"node pool {self.name}: compact placement needs exactly one zone")


def _reservation(spec: NodePoolSpec) -> gcp.container.NodePoolNodeConfigReservationAffinityArgs | None:
    if spec.capacity == "reservation":
        return gcp.container.NodePoolNodeConfigReservationAffinityArgs(
            consume_reservation_type="SPECIFIC_RESERVATION", key="compute.googleapis.com/reservation-name",
            values=[spec.reservation or ""])  # fmt: skip
    if spec.capacity in ("spot", "queued"):  # neither may take a reservation's capacity
        return gcp.container.NodePoolNodeConfigReservationAffinityArgs(consume_reservation_type="NO_RESERVATION")
    return None


def node_config(spec: NodePoolSpec, service_account: pulumi.Input[str]) -> gcp.container.NodePoolNodeConfigArgs:
    gpu = spec.accelerator is not None
    labels = {**spec.labels, **({GPU_LABEL: "true", "helixflow.dev/gpu": spec.gpu.lower()} if gpu else {})}
    return gcp.container.NodePoolNodeConfigArgs(
        machine_type=spec.machine_type, disk_size_gb=spec.disk_size_gb, disk_type=spec.disk_type,
        image_type="COS_CONTAINERD", service_account=service_account, oauth_scopes=SCOPES,
        spot=spec.capacity == "spot", labels=labels,
        guest_accelerators=[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
            type=spec.accelerator or "", count=spec.gpus_per_node,
            gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                gpu_driver_version="LATEST"),
        )] if gpu else None,
        taints=[gcp.container.NodePoolNodeConfigTaintArgs(key=GPU_TAINT, value="present", effect="NO_SCHEDULE")]
        if gpu else None,
        reservation_affinity=_reservation(spec),
        workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True),
        gvnic=gcp.container.NodePoolNodeConfigGvnicArgs(enabled=True),
        gcfs_config=gcp.container.NodePoolNodeConfigGcfsConfigArgs(enabled=True),  # image streaming: big images
        metadata={"disable-legacy-endpoints": "true"},
    )  # fmt: skip


def node_pool(name: str, cluster: pulumi.Input[str], location: str, spec: NodePoolSpec,
              service_account: pulumi.Input[str], opts: pulumi.ResourceOptions) -> gcp.container.NodePool:  # fmt: skip
    spec.validate()
    queued = spec.capacity == "queued"
    return gcp.container.NodePool(
        name, cluster=cluster, location=location, node_locations=list(spec.zones) or None,
        # per zone, at creation only: the autoscaler then keeps the pool's totals (GPU pools start empty)
        initial_node_count=1 if spec.accelerator is None and spec.min_nodes else 0,
        node_config=node_config(spec, service_account),
        autoscaling=gcp.container.NodePoolAutoscalingArgs(
            total_min_node_count=spec.min_nodes, total_max_node_count=spec.max_nodes,
            location_policy="ANY" if spec.accelerator else "BALANCED"),  # ANY: wherever GPUs are free
        management=gcp.container.NodePoolManagementArgs(auto_repair=not queued, auto_upgrade=True),
        queued_provisioning=gcp.container.NodePoolQueuedProvisioningArgs(enabled=True) if queued else None,
        placement_policy=gcp.container.NodePoolPlacementPolicyArgs(type="COMPACT")
        if spec.compact_placement else None,
        upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(max_surge=1, max_unavailable=0),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["initialNodeCount"])),
    )  # fmt: skip
