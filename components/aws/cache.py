"""ElastiCache (Redis 7 or Valkey): a replication group across zones with automatic failover, TLS in
transit, encryption at rest, an auth token from the stack's secrets, daily snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from helixflow.components.aws.common import child, kms_key

TYPE = "helixflow:aws:Cache"
PORT = 6379


@dataclass(frozen=True)
class CacheArgs:
    auth_token: pulumi.Input[str]
    engine: Literal["redis", "valkey"] = "redis"
    engine_version: str = "7.1"
    node_type: str = "cache.r7g.large"
    nodes: int = 2
    snapshot_retention_days: int = 7
    # the network's: filled in by AwsPlatform
    vpc_id: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[Sequence[str]] = ()  # private subnets only
    client_security_group_id: pulumi.Input[str] = ""  # the cluster's nodes: the only clients let in

    def require_network(self) -> None:
        if self.vpc_id == "" or self.subnet_ids == () or self.client_security_group_id == "":
            raise ValueError("vpc_id, subnet_ids and client_security_group_id: give the network's (private subnets)")

    def validate(self) -> None:
        if self.nodes < 2:
            raise ValueError(f"nodes {self.nodes}: automatic failover needs a primary and a replica (2 or more)")
        if self.engine == "redis" and not self.engine_version.startswith("7"):
            raise ValueError(f"engine_version {self.engine_version!r}: HelixFlow runs Redis 7")
        if not 1 <= self.snapshot_retention_days <= 35:
            raise ValueError(f"snapshot_retention_days {self.snapshot_retention_days}: 1 to 35")


class Cache(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for settings without failover or snapshots."""

    primary_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    replication_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        args.require_network()
        super().__init__(TYPE, name, None, opts)
        key = kms_key(f"{name}-storage", "the cache's data at rest and its snapshots", self)
        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids, opts=child(self))
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id, description="Redis from the cluster only",
                                      opts=child(self))  # fmt: skip
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-cluster", security_group_id=group.id, ip_protocol="tcp",
                                         from_port=PORT, to_port=PORT,
                                         referenced_security_group_id=args.client_security_group_id,
                                         opts=child(self))  # fmt: skip
        replicas = aws.elasticache.ReplicationGroup(
            name, replication_group_id=name, description=f"helixflow {name}", engine=args.engine,
            engine_version=args.engine_version, node_type=args.node_type, num_cache_clusters=args.nodes, port=PORT,
            automatic_failover_enabled=True, multi_az_enabled=True,
            transit_encryption_enabled=True, transit_encryption_mode="required",
            at_rest_encryption_enabled=True, kms_key_id=key.arn, auth_token=pulumi.Output.secret(args.auth_token),
            subnet_group_name=subnets.name, security_group_ids=[group.id],
            snapshot_retention_limit=args.snapshot_retention_days, snapshot_window="02:00-03:00",
            maintenance_window="sun:05:30-sun:06:30", final_snapshot_identifier=f"{name}-final",
            auto_minor_version_upgrade=True, apply_immediately=False,
            opts=child(self),
        )  # fmt: skip
        self.primary_endpoint = replicas.primary_endpoint_address
        self.port = replicas.port.apply(lambda p: int(p or PORT))
        self.replication_group_id = replicas.replication_group_id
        self.register_outputs({"primary_endpoint": self.primary_endpoint, "port": self.port,
                               "replication_group_id": self.replication_group_id})  # fmt: skip
