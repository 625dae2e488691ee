"""RDS PostgreSQL 16: Multi-AZ, KMS-encrypted, private subnets only, TLS forced, 30-day backups,
Performance Insights, deletion protection, a final snapshot, the master password in Secrets Manager."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from helixflow.components.aws.common import child, kms_key

TYPE = "helixflow:aws:Database"
PORT = 5432


@dataclass(frozen=True)
class DatabaseArgs:
    instance_class: str = "db.r6g.large"
    engine_version: str = "16"
    storage_gib: int = 100
    max_storage_gib: int = 1000
    multi_az: bool = True
    backup_retention_days: int = 30
    performance_insights_retention_days: int = 7
    deletion_protection: bool = True
    db_name: str = "helixflow"
    username: str = "helixflow"
    # the network's: filled in by AwsPlatform
    vpc_id: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[Sequence[str]] = ()  # private subnets only
    client_security_group_id: pulumi.Input[str] = ""  # the cluster's nodes: the only clients let in

    def require_network(self) -> None:
        if self.vpc_id == "" or self.subnet_ids == () or self.client_security_group_id == "":
            raise ValueError("vpc_id, subnet_ids and client_security_group_id: give the network's (private subnets)")

    def validate(self) -> None:
        if not self.engine_version.split(".")[0] == "16":
            raise ValueError(f"engine_version {self.engine_version!r}: HelixFlow runs PostgreSQL 16")
        if not 1 <= self.backup_retention_days <= 35:
            raise ValueError(f"backup_retention_days {self.backup_retention_days}: RDS keeps 1 to 35 days")
        if self.max_storage_gib < self.storage_gib:
            raise ValueError(f"max_storage_gib {self.max_storage_gib} is below storage_gib {self.storage_gib}")


class Database(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for settings RDS would refuse."""

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    master_secret_arn: pulumi.Output[str]
    identifier: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        args.require_network()
        super().__init__(TYPE, name, None, opts)
        key = kms_key(f"{name}-storage", "the database's storage, snapshots, master secret, Performance Insights", self)
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids, opts=child(self))
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id, description="PostgreSQL from the cluster only",
                                      opts=child(self))  # fmt: skip
        aws.vpc.SecurityGroupIngressRule(f"{name}-from-cluster", security_group_id=group.id, ip_protocol="tcp",
                                         from_port=PORT, to_port=PORT,
                                         referenced_security_group_id=args.client_security_group_id,
                                         opts=child(self))  # fmt: skip
        parameters = aws.rds.ParameterGroup(f"{name}-params", family="postgres16", parameters=[
            aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
            aws.rds.ParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
        ], opts=child(self))  # fmt: skip
        instance = aws.rds.Instance(
            name, identifier=name, engine="postgres", engine_version=args.engine_version,
            instance_class=args.instance_class, allocated_storage=args.storage_gib,
            max_allocated_storage=args.max_storage_gib, storage_type="gp3", storage_encrypted=True,
            kms_key_id=key.arn, db_name=args.db_name, username=args.username,
            manage_master_user_password=True, master_user_secret_kms_key_id=key.arn,
            multi_az=args.multi_az, db_subnet_group_name=subnets.name, vpc_security_group_ids=[group.id],
            publicly_accessible=False, parameter_group_name=parameters.name,
            backup_retention_period=args.backup_retention_days, backup_window="03:00-04:00",
            maintenance_window="sun:04:30-sun:05:30", copy_tags_to_snapshot=True, delete_automated_backups=False,
            deletion_protection=args.deletion_protection, skip_final_snapshot=False,
            final_snapshot_identifier=f"{name}-final", performance_insights_enabled=True,
            performance_insights_kms_key_id=key.arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"], auto_minor_version_upgrade=True,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            opts=child(self),
        )  # fmt: skip
        self.address = instance.address
        self.port = instance.port
        self.identifier = instance.identifier
        self.master_secret_arn = instance.master_user_secrets.apply(lambda s: s[0].secret_arn or "")
        self.register_outputs({"address": self.address, "port": self.port, "identifier": self.identifier,
                               "master_secret_arn": self.master_secret_arn})  # fmt: skip
