"""Cloud SQL for PostgreSQL 16: regional (a standby in another zone), a private IP on the stack's VPC and
no public IPv4, TLS required (ENCRYPTED_ONLY), daily backups with point-in-time recovery, deletion
protection both in Pulumi and in the Cloud SQL API."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

TYPE = "helixflow:gcp:Database"
DATABASE = "helixflow"
USER = "helixflow"


@dataclass(frozen=True)
class DatabaseArgs:
    region: str
    password: pulumi.Input[str]
    tier: str = "db-custom-4-16384"
    edition: str = "ENTERPRISE"
    disk_size_gb: int = 100
    disk_autoresize_limit_gb: int = 1000
    high_availability: bool = True
    backup_retention_days: int = 30
    log_retention_days: int = 7
    backup_start_time: str = "03:00"
    maintenance_day: int = 7
    maintenance_hour: int = 4
    deletion_protection: bool = True
    network: pulumi.Input[str] = ""  # filled in by GcpPlatform: the VPC's id (private IP on it)

    def validate(self) -> None:
        if self.disk_autoresize_limit_gb < self.disk_size_gb:
            raise ValueError(f"disk_autoresize_limit_gb {self.disk_autoresize_limit_gb} is below disk_size_gb")
        if not 1 <= self.log_retention_days <= 35 or not 1 <= self.backup_retention_days <= 365:
            raise ValueError("log_retention_days must be 1-35 and backup_retention_days 1-365")


class Database(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for limits Cloud SQL would refuse."""

    instance_name: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    server_ca: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        instance = gcp.sql.DatabaseInstance(
            name, region=args.region, database_version="POSTGRES_16",
            deletion_protection=args.deletion_protection,  # Pulumi refuses to delete it
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=args.tier, edition=args.edition,
                availability_type="REGIONAL" if args.high_availability else "ZONAL",
                deletion_protection_enabled=args.deletion_protection,  # the Cloud SQL API refuses too
                disk_type="PD_SSD", disk_size=args.disk_size_gb, disk_autoresize=True,
                disk_autoresize_limit=args.disk_autoresize_limit_gb,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False, private_network=args.network, ssl_mode="ENCRYPTED_ONLY",
                    enable_private_path_for_google_cloud_services=True),
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True, point_in_time_recovery_enabled=True, start_time=args.backup_start_time,
                    transaction_log_retention_days=args.log_retention_days,
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=args.backup_retention_days, retention_unit="COUNT")),
                maintenance_window=gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgs(
                    day=args.maintenance_day, hour=args.maintenance_hour, update_track="stable"),
                insights_config=gcp.sql.DatabaseInstanceSettingsInsightsConfigArgs(query_insights_enabled=True),
                database_flags=[gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name="log_min_duration_statement",
                                                                                 value="1000")],
            ),
            opts=child,
        )  # fmt: skip
        on_instance = pulumi.ResourceOptions(parent=self, depends_on=[instance])
        gcp.sql.Database(f"{name}-db", name=DATABASE, instance=instance.name, opts=on_instance)
        gcp.sql.User(f"{name}-user", name=USER, instance=instance.name, password=args.password, opts=on_instance)
        self.instance_name = instance.name
        self.private_ip = instance.private_ip_address
        self.server_ca = instance.server_ca_certs.apply(lambda certs: str(certs[0].cert) if certs else "")
        self.register_outputs({"instance_name": self.instance_name, "private_ip": self.private_ip})
