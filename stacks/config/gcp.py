"""The `gcp:` section: a VPC, regional GKE with GPU node pools, Cloud SQL, Memorystore and GCS.

Every choice a platform team makes is a field with a production default (regional data stores, private
nodes, deletion protection, 30 days of backups). What no GCP project could build is refused here, before
anything runs: a GPU the catalog (data/gcp.yaml) lacks or the region does not offer, a zone outside the
region or without that GPU, overlapping ranges, a pool whose max is below its min, more GPUs asked than
the pools can ever hold. `project` may stay unset while a stack is being configured; the target refuses
to deploy without it.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from helixflow.stacks.config.cloud import NAME, ClusterRuntimeSettings
from helixflow.stacks.config.common import StackBase, Strict
from helixflow.stacks.config.gcp_catalog import GpuOffer, gcp_catalog

CIDR = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"
PROJECT = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"


def _network(cidr: str, field: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(cidr)
    except ValueError as err:
        raise ValueError(f"{field} {cidr!r} is not a network address ({err})") from None


class NetworkSettings(Strict):
    """One subnet for the nodes, with secondary ranges for pods and Services (VPC-native GKE); a /28 for
    the control plane; a range reserved for Google's managed services (Cloud SQL, Memorystore)."""

    subnet_cidr: str = Field("10.0.0.0/20", pattern=CIDR, description="the nodes' subnet")
    pods_cidr: str = Field("10.4.0.0/14", pattern=CIDR, description="secondary range: pod IPs")
    services_cidr: str = Field("10.8.0.0/20", pattern=CIDR, description="secondary range: Service IPs")
    master_cidr: str = Field("172.16.0.0/28", pattern=CIDR, description="the GKE control plane's /28")
    private_services_cidr: str = Field("10.16.0.0/16", pattern=CIDR,
                                       description="private service access (Cloud SQL, Memorystore), /24 or larger")
    nat_log_filter: Literal["ERRORS_ONLY", "TRANSLATIONS_ONLY", "ALL"] = "ERRORS_ONLY"

    def ranges(self) -> dict[str, ipaddress.IPv4Network]:
        return {f"network.{field}": _network(getattr(self, field), f"network.{field}")
                for field in ("subnet_cidr", "pods_cidr", "services_cidr", "master_cidr", "private_services_cidr")}

    @model_validator(mode="after")
    def _cidrs(self) -> NetworkSettings:
        ranges = self.ranges()
        if ranges["network.master_cidr"].prefixlen != 28:
            raise ValueError(f"network.master_cidr {self.master_cidr} must be a /28 (GKE's control-plane range)")
        if ranges["network.private_services_cidr"].prefixlen > 24:
            raise ValueError(f"network.private_services_cidr {self.private_services_cidr} must be a /24 or larger "
                             "(Google allocates Cloud SQL and Memorystore from it)")  # fmt: skip
        named = list(ranges.items())
        for index, (what, network) in enumerate(named):
            for other, other_network in named[index + 1 :]:
                if network.overlaps(other_network):
                    raise ValueError(f"{what} {network} overlaps {other} {other_network}: give each its own range")
        return self


class NodePoolSize(Strict):
    min_nodes: int = Field(0, ge=0, le=1000, description="the pool's total minimum (0: scale from zero)")
    max_nodes: int = Field(2, ge=1, le=1000, description="the pool's total maximum")

    @model_validator(mode="after")
    def _ordered(self) -> NodePoolSize:
        if self.max_nodes < self.min_nodes:
            raise ValueError(f"max_nodes {self.max_nodes} is below min_nodes {self.min_nodes}: "
                             "raise max_nodes or lower min_nodes")  # fmt: skip
        return self


class SystemNodes(NodePoolSize):
    """The node pool for everything but the SGLang workers (gateway, router, add-ons), across the zones."""

    machine_type: str = Field("n2-standard-4", pattern=r"^[a-z0-9]+-[a-z0-9-]+$")
    min_nodes: int = Field(3, ge=1, le=1000)
    max_nodes: int = Field(6, ge=1, le=1000)
    disk_size_gb: int = Field(100, ge=20, le=65536)


Capacity = Literal["on-demand", "spot", "reservation", "queued"]


class GpuPoolSettings(NodePoolSize):
    """One GKE node pool: one GPU shape and capacity mode, autoscaling from zero, tainted for GPU work only.

    capacity: on-demand; spot (preemptible, cheaper); reservation (consume `reservation`); queued (Dynamic
    Workload Scheduler: nodes are queued and granted all at once)."""

    name: str = Field(..., min_length=1, max_length=20, pattern=NAME)
    gpu: str = Field(..., description="the GPU model, as the catalog names it (H100, A100-80GB, L4, ...)")
    machine_type: str | None = Field(None, description="default: the catalog's first one for this GPU")
    capacity: Capacity = "on-demand"
    reservation: str | None = Field(None, pattern=NAME, description="capacity reservation: the reservation's name")
    compact_placement: bool | None = Field(None, description="nodes close together in one zone (default: on for "
                                           "H200/H100/A100 on demand or reserved)")  # fmt: skip
    zones: list[str] | None = Field(None, min_length=1, description="default: the region's zones offering the GPU")
    disk_size_gb: int = Field(300, ge=100, le=65536, description="room for model images and weights")
    labels: dict[str, str] = Field(default_factory=dict, description="extra node labels")

    def offer(self) -> GpuOffer:
        return gcp_catalog().gpu(self.gpu)

    def chosen_machine_type(self) -> str:
        return self.machine_type or self.offer().default_machine_type

    def gpus_per_node(self) -> int:
        return self.offer().machine_types[self.chosen_machine_type()]

    def compact(self) -> bool:
        if self.compact_placement is not None:
            return self.compact_placement
        return self.offer().compact_placement and self.capacity in ("on-demand", "reservation")

    def zone_names(self, region: str) -> list[str]:
        """The configured zones, or those offering the GPU (only the first with compact placement)."""
        if self.zones:
            return list(self.zones)
        offered = self.offer().zones_in(region)
        return offered[:1] if self.compact() else offered

    def check(self, region: str, where: str) -> None:
        """Raises ValueError naming the field and the valid choices."""
        catalog = gcp_catalog()
        try:
            offer = catalog.gpu(self.gpu)
        except ValueError as err:
            raise ValueError(f"{where}.gpu: {err}") from None
        offered = offer.zones_in(region)
        if not offered:
            where_offered = sorted({zone.rsplit("-", 1)[0] for zone in offer.zones})
            raise ValueError(f"{where}.gpu: {self.gpu} is not offered in {region} (it is in "
                             f"{', '.join(where_offered)}); GPUs in {region}: {', '.join(catalog.gpus_in(region))}")
        if self.machine_type is not None and self.machine_type not in offer.machine_types:
            raise ValueError(f"{where}.machine_type: {self.machine_type} carries no {self.gpu}; valid: "
                             f"{', '.join(offer.machine_types)}")  # fmt: skip
        for zone in self.zones or []:
            catalog.require_zone(region, zone, f"{where}.zones")
            if zone not in offered:
                raise ValueError(f"{where}.zones: {zone} offers no {self.gpu}; zones of {region} that do: "
                                 f"{', '.join(offered)}")  # fmt: skip
        self._check_capacity(where)

    def _check_capacity(self, where: str) -> None:
        if self.capacity == "reservation" and not self.reservation:
            raise ValueError(f"{where}.reservation: capacity reservation needs the reservation's name")
        if self.reservation and self.capacity != "reservation":
            raise ValueError(f"{where}.reservation is set but capacity is {self.capacity}: set capacity reservation")
        if self.capacity == "queued" and self.min_nodes:
            raise ValueError(f"{where}.min_nodes: queued provisioning (DWS) grants nodes on request only; "
                             "set min_nodes 0")  # fmt: skip
        if self.compact() and self.capacity in ("spot", "queued"):
            raise ValueError(f"{where}.compact_placement: not with capacity {self.capacity}; "
                             "use on-demand or reservation, or turn compact_placement off")  # fmt: skip
        if self.compact() and self.zones and len(self.zones) > 1:
            raise ValueError(f"{where}.zones: compact placement keeps a pool in one zone; give one zone")


class DatabaseSettings(Strict):
    """Cloud SQL PostgreSQL 16: regional (a standby in another zone), private IP only, TLS only, backups
    with point-in-time recovery."""

    tier: str = Field("db-custom-4-16384", pattern=r"^db-[a-z0-9-]+$", description="machine shape")
    edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"] = "ENTERPRISE"
    disk_size_gb: int = Field(100, ge=10, le=65536)
    disk_autoresize_limit_gb: int = Field(1000, ge=10, le=65536, description="storage autoscaling's ceiling")
    high_availability: bool = Field(True, description="REGIONAL (a standby in another zone) or ZONAL")
    backup_retention_days: int = Field(30, ge=1, le=365, description="daily backups kept")
    log_retention_days: int = Field(7, ge=1, le=35, description="point-in-time recovery window (write-ahead logs)")
    backup_start_time: str = Field("03:00", pattern=r"^([01]\d|2[0-3]):00$", description="UTC, on the hour")
    maintenance_day: int = Field(7, ge=1, le=7, description="1 Monday ... 7 Sunday")
    maintenance_hour: int = Field(4, ge=0, le=23, description="UTC")

    @model_validator(mode="after")
    def _limits(self) -> DatabaseSettings:
        if self.disk_autoresize_limit_gb < self.disk_size_gb:
            raise ValueError(f"database.disk_autoresize_limit_gb {self.disk_autoresize_limit_gb} is below "
                             f"disk_size_gb {self.disk_size_gb}")  # fmt: skip
        if self.edition == "ENTERPRISE" and self.log_retention_days > 7:
            raise ValueError(f"database.log_retention_days {self.log_retention_days}: the ENTERPRISE edition keeps "
                             "at most 7 days of logs; lower it or use edition ENTERPRISE_PLUS")  # fmt: skip
        return self


class CacheSettings(Strict):
    """Memorystore for Redis STANDARD_HA: a replica in another zone, TLS in transit, AUTH."""

    memory_size_gb: int = Field(5, ge=1, le=300)
    redis_version: Literal["REDIS_7_2", "REDIS_7_0", "REDIS_6_X"] = "REDIS_7_2"
    snapshot_period: Literal["ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS"] = "ONE_HOUR"


class BucketSettings(Strict):
    """The GCS bucket for model artifacts (models/) and backups (backups/)."""

    location: str | None = Field(None, description="default: the stack's region")
    model_prefix: str = Field("models/", pattern=r"^[a-z0-9][a-z0-9._-]*/$")
    backup_prefix: str = Field("backups/", pattern=r"^[a-z0-9][a-z0-9._-]*/$")
    backup_retention_days: int = Field(30, ge=1, le=3650)
    noncurrent_retention_days: int = Field(7, ge=1, le=3650, description="how long replaced versions are kept")

    @model_validator(mode="after")
    def _prefixes(self) -> BucketSettings:
        if self.model_prefix.startswith(self.backup_prefix) or self.backup_prefix.startswith(self.model_prefix):
            raise ValueError("bucket.model_prefix and bucket.backup_prefix must not contain one another "
                             "(their access grants differ)")  # fmt: skip
        return self


class ClusterSettings(Strict):
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    zones: list[str] | None = Field(None, min_length=1, description="system nodes' zones (default: the first 3)")
    public_endpoint: bool = Field(True, description="the API reachable from outside the VPC (where helixflow runs)")
    authorized_networks: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1,
                                           description="who reaches the API endpoint")  # fmt: skip
    system_nodes: SystemNodes = SystemNodes()

    @model_validator(mode="after")
    def _networks(self) -> ClusterSettings:
        for cidr in self.authorized_networks:
            _network(cidr, "cluster.authorized_networks")
        return self

    def zone_names(self, region: str) -> list[str]:
        return list(self.zones or gcp_catalog().zones[region][:3])


def _default_pools() -> list[GpuPoolSettings]:
    return [GpuPoolSettings(name="gpu", gpu="L4", machine_type="g2-standard-8", min_nodes=0, max_nodes=4)]


class GcpSettings(ClusterRuntimeSettings):
    project: str | None = Field(None, pattern=PROJECT, description="the GCP project id (required to deploy)")
    region: str = Field("us-central1", pattern=r"^[a-z]+-[a-z]+\d+$", description="the GCP region")
    network: NetworkSettings = NetworkSettings()
    cluster: ClusterSettings = ClusterSettings()
    gpu_pools: list[GpuPoolSettings] = Field(default_factory=_default_pools, min_length=1)
    database: DatabaseSettings = DatabaseSettings()
    cache: CacheSettings = CacheSettings()
    bucket: BucketSettings = BucketSettings()
    deletion_protection: bool = Field(True, description="Cloud SQL (Pulumi's and the API's), the GKE cluster and "
                                      "the bucket's objects: set false and `up` before `down`")  # fmt: skip

    @model_validator(mode="after")
    def _against_the_catalog(self) -> GcpSettings:
        catalog = gcp_catalog()
        catalog.require_region(self.region)
        for zone in self.cluster.zones or []:
            catalog.require_zone(self.region, zone, "cluster.zones")
        self.check_gpu_pools(self.gpu_pools, self.region)
        if self.model.source == "bucket" and not (self.model.uri or "").startswith("gs://"):
            raise ValueError("model.uri: on GCP the model comes from a gs:// prefix (the stack's bucket)")
        return self



class GcpStack(StackBase):
    """A stack of target `gcp`: its `gcp:` section only."""

    target: Literal["gcp"]
    gcp: GcpSettings = GcpSettings()
