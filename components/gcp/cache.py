"""Memorystore for Redis, STANDARD_HA (a replica in another zone with automatic failover), reached over
private service access only, TLS in transit (SERVER_AUTHENTICATION), AUTH on, RDB snapshots."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

TYPE = "helixflow:gcp:Cache"


@dataclass(frozen=True)
class CacheArgs:
    region: str
    memory_size_gb: int = 5
    redis_version: str = "REDIS_7_2"
    snapshot_period: str = "ONE_HOUR"
    network: pulumi.Input[str] = ""  # filled in by GcpPlatform: the VPC's id

    def validate(self) -> None:
        if not 1 <= self.memory_size_gb <= 300:
            raise ValueError(f"memory_size_gb {self.memory_size_gb}: Memorystore offers 1 to 300 GB")


class Cache(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for a size Memorystore would refuse."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    auth_string: pulumi.Output[str]
    server_ca: pulumi.Output[str]

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        instance = gcp.redis.Instance(
            name, region=args.region, tier="STANDARD_HA", memory_size_gb=args.memory_size_gb,
            redis_version=args.redis_version, authorized_network=args.network,
            connect_mode="PRIVATE_SERVICE_ACCESS", transit_encryption_mode="SERVER_AUTHENTICATION",
            auth_enabled=True,
            persistence_config=gcp.redis.InstancePersistenceConfigArgs(persistence_mode="RDB",
                                                                       rdb_snapshot_period=args.snapshot_period),
            maintenance_policy=gcp.redis.InstanceMaintenancePolicyArgs(weekly_maintenance_windows=[
                gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowArgs(
                    day="SUNDAY", start_time=gcp.redis.InstanceMaintenancePolicyWeeklyMaintenanceWindowStartTimeArgs(
                        hours=5))]),
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["authString"]),
        )  # fmt: skip
        self.host = instance.host
        self.port = instance.port
        self.auth_string = pulumi.Output.secret(instance.auth_string)
        self.server_ca = instance.server_ca_certs.apply(lambda certs: str(certs[0].cert) if certs else "")
        self.register_outputs({"host": self.host, "port": self.port})
