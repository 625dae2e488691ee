"""The `aws:` section: a VPC, EKS with GPU node groups, RDS PostgreSQL, ElastiCache and S3.

Every choice a platform team makes is a field with a production default (Multi-AZ data stores, one
NAT gateway per zone, deletion protection, 30-day backups). What no AWS account could build is refused
here, before anything runs: a GPU the catalog (data/aws.yaml) lacks or the region does not offer, a zone
outside the region, overlapping CIDRs, a pool whose max is below its min, more GPUs asked than the pools
can ever hold.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from helixflow.stacks.config.aws_catalog import aws_catalog
from helixflow.stacks.config.cloud import NAME, ClusterRuntimeSettings
from helixflow.stacks.config.common import StackBase, Strict

CIDR = r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$"


def _network(cidr: str, field: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(cidr)
    except ValueError as err:
        raise ValueError(f"{field} {cidr!r} is not a network address ({err})") from None


class NetworkSettings(Strict):
    """The VPC: one public and one private subnet per zone; nodes and data stores in the private ones."""

    vpc_cidr: str = Field("10.0.0.0/16", pattern=CIDR, description="the VPC's range (/16 to /20)")
    zones: int = Field(3, ge=2, le=6, description="how many availability zones (with availability_zones unset)")
    availability_zones: list[str] | None = Field(None, min_length=2, description="the zones (default: the first)")
    private_subnet_cidrs: list[str] | None = Field(None, description="one per zone (default: /19s of a /16)")
    public_subnet_cidrs: list[str] | None = Field(None, description="one per zone (default: /22s at the end)")
    service_cidr: str = Field("172.20.0.0/16", pattern=CIDR, description="Kubernetes Services' range (not in VPC)")
    single_nat_gateway: bool = Field(False, description="one NAT gateway for all zones (cheaper, not zone-proof)")
    flow_log_retention_days: int = Field(90, ge=1, le=3653, description="how long VPC flow logs are kept")

    def zone_names(self, region: str) -> list[str]:
        return list(self.availability_zones or aws_catalog().zones[region][: self.zones])

    def subnets(self) -> tuple[list[str], list[str]]:
        """(private, public) subnet CIDRs, one per zone: the configured ones or carved from the VPC."""
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        count = len(self.availability_zones or []) or self.zones
        private = self.private_subnet_cidrs or [str(n) for n in list(vpc.subnets(prefixlen_diff=3))[:count]]
        last = list(vpc.subnets(prefixlen_diff=3))[-1]  # the private ones never reach it (at most 6 zones)
        public = self.public_subnet_cidrs or [str(n) for n in list(last.subnets(prefixlen_diff=3))[:count]]
        return private, public

    @model_validator(mode="after")
    def _cidrs(self) -> NetworkSettings:
        vpc = _network(self.vpc_cidr, "network.vpc_cidr")
        if not 16 <= vpc.prefixlen <= 20:
            raise ValueError(f"network.vpc_cidr {self.vpc_cidr} must be a /16 to /20 (AWS allows /16 at most)")
        count = len(self.availability_zones or []) or self.zones
        named: list[tuple[str, ipaddress.IPv4Network]] = []
        private, public = self.subnets()
        for field, cidrs in (("private_subnet_cidrs", private), ("public_subnet_cidrs", public)):
            if len(cidrs) != count:
                raise ValueError(f"network.{field} has {len(cidrs)} entries for {count} zones: give one per zone")
            for cidr in cidrs:
                subnet = _network(cidr, f"network.{field}")
                if not subnet.subnet_of(vpc):
                    raise ValueError(f"network.{field} {cidr} is outside network.vpc_cidr {self.vpc_cidr}")
                named.append((f"network.{field} {cidr}", subnet))
        for index, (what, network) in enumerate(named):
            for other, other_network in named[index + 1 :]:
                if network.overlaps(other_network):
                    raise ValueError(f"{what} overlaps {other}: give each subnet its own range")
        if _network(self.service_cidr, "network.service_cidr").overlaps(vpc):
            raise ValueError(f"network.service_cidr {self.service_cidr} overlaps network.vpc_cidr {self.vpc_cidr}: "
                             "choose a Service range outside the VPC (e.g. 172.20.0.0/16)")
        return self


class NodeGroupSize(Strict):
    min_nodes: int = Field(0, ge=0, le=1000)
    max_nodes: int = Field(2, ge=1, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> NodeGroupSize:
        if self.max_nodes < self.min_nodes:
            raise ValueError(f"max_nodes {self.max_nodes} is below min_nodes {self.min_nodes}: "
                             "raise max_nodes or lower min_nodes")  # fmt: skip
        return self


class SystemNodes(NodeGroupSize):
    """The managed node group for everything but the SGLang workers (gateway, router, add-ons)."""

    instance_types: list[str] = Field(default_factory=lambda: ["m6i.xlarge"], min_length=1)
    min_nodes: int = Field(3, ge=1, le=1000)  # one per zone
    max_nodes: int = Field(6, ge=1, le=1000)
    root_volume_gib: int = Field(50, ge=20, le=16384)


class GpuPoolSettings(NodeGroupSize):
    """One managed GPU node group: one GPU model, on-demand or spot, scaling from zero."""

    name: str = Field(..., min_length=1, max_length=20, pattern=NAME)
    gpu: str = Field(..., description="the GPU model, as the catalog names it (H100, L40S, L4, ...)")
    instance_type: str | None = Field(None, description="default: the catalog's first one for this GPU")
    capacity: Literal["on-demand", "spot"] = "on-demand"
    spot_instance_types: list[str] | None = Field(None, description="spot: more types with the same GPUs per node")
    root_volume_gib: int = Field(300, ge=100, le=16384, description="room for model images and weights")
    labels: dict[str, str] = Field(default_factory=dict, description="extra node labels")

    def chosen_type(self) -> str:
        return self.instance_type or next(iter(aws_catalog().gpu(self.gpu).instance_types))

    def gpus_per_node(self) -> int:
        return aws_catalog().gpu(self.gpu).instance_types[self.chosen_type()]

    def instance_types(self) -> list[str]:
        """The node group's instance types: one on demand; for spot, every type with the same GPUs per node."""
        chosen = self.chosen_type()
        if self.capacity == "on-demand":
            return [chosen]
        others = self.spot_instance_types or aws_catalog().gpu(self.gpu).types_with(self.gpus_per_node())
        return [chosen, *(t for t in others if t != chosen)]

    def check(self, region: str, where: str) -> None:
        """Raises ValueError naming the field and the valid choices."""
        catalog = aws_catalog()
        try:
            offer = catalog.gpu(self.gpu)
        except ValueError as err:
            raise ValueError(f"{where}.gpu: {err}") from None
        if region not in offer.regions:
            offering = [gpu.name for gpu in catalog.gpus.values() if region in gpu.regions]
            raise ValueError(f"{where}.gpu: {self.gpu} is not offered in {region} (it is in "
                             f"{', '.join(offer.regions)}); GPUs in {region}: {', '.join(offering)}")  # fmt: skip
        for field, types in (("instance_type", [self.instance_type] if self.instance_type else []),
                             ("spot_instance_types", self.spot_instance_types or [])):  # fmt: skip
            for name in types:
                if name not in offer.instance_types:
                    raise ValueError(f"{where}.{field}: {name} carries no {self.gpu}; valid: "
                                     f"{', '.join(offer.instance_types)}")  # fmt: skip
                if offer.instance_types[name] != self.gpus_per_node():
                    raise ValueError(f"{where}.{field}: {name} has {offer.instance_types[name]} GPUs, the pool's "
                                     f"{self.chosen_type()} has {self.gpus_per_node()}: use types with the same")
        if self.spot_instance_types and self.capacity != "spot":
            raise ValueError(f"{where}.spot_instance_types is set but capacity is on-demand: set capacity spot")


class DatabaseSettings(Strict):
    """RDS PostgreSQL 16: Multi-AZ, encrypted, TLS only, private subnets, master password in Secrets Manager."""

    instance_class: str = Field("db.r6g.large", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    engine_version: str = Field("16", pattern=r"^16(\.\d+)?$", description="PostgreSQL 16 (a minor, or the default)")
    storage_gib: int = Field(100, ge=20, le=65536)
    max_storage_gib: int = Field(1000, ge=20, le=65536, description="storage autoscaling's ceiling")
    multi_az: bool = Field(True, description="a standby in another zone")
    backup_retention_days: int = Field(30, ge=1, le=35)
    performance_insights_retention_days: Literal[7, 731] = 7

    @model_validator(mode="after")
    def _storage(self) -> DatabaseSettings:
        if self.max_storage_gib < self.storage_gib:
            raise ValueError(f"database.max_storage_gib {self.max_storage_gib} is below storage_gib {self.storage_gib}")
        return self


class CacheSettings(Strict):
    """ElastiCache: a replication group across zones, TLS in transit, encrypted at rest, an auth token."""

    engine: Literal["redis", "valkey"] = "redis"
    engine_version: str = Field("7.1", pattern=r"^[78](\.\d+)?$")
    node_type: str = Field("cache.r7g.large", pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    nodes: int = Field(2, ge=2, le=6, description="primary and replicas (2 or more: automatic failover)")
    snapshot_retention_days: int = Field(7, ge=1, le=35)


class BucketSettings(Strict):
    """The S3 bucket for model artifacts (models/) and backups (backups/)."""

    model_prefix: str = Field("models/", pattern=r"^[a-z0-9][a-z0-9._-]*/$")
    backup_prefix: str = Field("backups/", pattern=r"^[a-z0-9][a-z0-9._-]*/$")
    backup_retention_days: int = Field(30, ge=1, le=3650)

    @model_validator(mode="after")
    def _apart(self) -> BucketSettings:
        if self.model_prefix.startswith(self.backup_prefix) or self.backup_prefix.startswith(self.model_prefix):
            raise ValueError(f"bucket.model_prefix {self.model_prefix!r} and bucket.backup_prefix "
                             f"{self.backup_prefix!r} must not contain each other: their access differs")
        return self


class ClusterSettings(Strict):
    kubernetes_version: str = Field("1.34", pattern=r"^1\.\d+$")
    public_endpoint: bool = Field(True, description="the API reachable from outside the VPC (where helixflow runs)")
    public_access_cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1,
                                           description="who reaches the public API endpoint")  # fmt: skip
    admin_principal_arns: list[str] = Field(default_factory=list, description="IAM roles/users made cluster admins")
    log_retention_days: int = Field(90, ge=1, le=3653, description="control-plane logs")
    system_nodes: SystemNodes = SystemNodes()

    @model_validator(mode="after")
    def _arns(self) -> ClusterSettings:
        for arn in self.admin_principal_arns:
            if not arn.startswith("arn:aws:iam::"):
                raise ValueError(f"cluster.admin_principal_arns: {arn!r} is not an IAM ARN (arn:aws:iam::...)")
        for cidr in self.public_access_cidrs:
            _network(cidr, "cluster.public_access_cidrs")
        return self


def _default_pools() -> list[GpuPoolSettings]:
    return [GpuPoolSettings(name="gpu", gpu="L4", instance_type="g6.2xlarge", min_nodes=0, max_nodes=4)]


class AwsSettings(ClusterRuntimeSettings):
    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="the AWS region")
    network: NetworkSettings = NetworkSettings()
    cluster: ClusterSettings = ClusterSettings()
    gpu_pools: list[GpuPoolSettings] = Field(default_factory=_default_pools, min_length=1)
    database: DatabaseSettings = DatabaseSettings()
    cache: CacheSettings = CacheSettings()
    bucket: BucketSettings = BucketSettings()
    deletion_protection: bool = Field(True, description="RDS deletion protection; the cache and bucket kept by "
                                      "Pulumi: set false and `up` before `down`")  # fmt: skip

    @model_validator(mode="after")
    def _against_the_catalog(self) -> AwsSettings:
        catalog = aws_catalog()
        catalog.require_region(self.region)
        for zone in self.network.availability_zones or []:
            if zone not in catalog.zones[self.region]:
                raise ValueError(f"network.availability_zones: {zone!r} is not a zone of {self.region}; valid: "
                                 f"{', '.join(catalog.zones[self.region])}")  # fmt: skip
        if not self.network.availability_zones and self.network.zones > len(catalog.zones[self.region]):
            raise ValueError(f"network.zones {self.network.zones}: {self.region} has "
                             f"{len(catalog.zones[self.region])} zones")  # fmt: skip
        self.check_gpu_pools(self.gpu_pools, self.region)
        return self



class AwsStack(StackBase):
    """A stack of target `aws`: its `aws:` section only."""

    target: Literal["aws"]
    aws: AwsSettings = AwsSettings()
