"""Data stores: encrypted at rest and in transit; protected from deletion, with a final snapshot."""

from __future__ import annotations

from collections.abc import Iterator

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.rules.model import Finding, Rule, dig, truthy
from helixflow.stacks.policy.settings import PolicySettings

RDS = "aws:rds/instance:Instance"
RDS_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
MEMORYSTORE = "gcp:redis/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "gcp:storage/bucket:Bucket")
SQL_TLS_MODES = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")


def check_encryption(resource: PlannedResource, settings: PolicySettings) -> Iterator[Finding]:
    props = resource.properties
    if resource.type == RDS and not truthy(props.get("storageEncrypted")):
        yield Finding("RDS storage is not encrypted at rest", "set storage_encrypted=True (and kms_key_id)")
    elif resource.type == RDS_PARAMETERS:
        for parameter in props.get("parameters") or []:
            if parameter.get("name") == "rds.force_ssl" and str(parameter.get("value")) != "1":
                yield Finding("the parameter group lets clients connect without TLS (rds.force_ssl is not 1)",
                              "set the parameter rds.force_ssl to 1")  # fmt: skip
    elif resource.type == ELASTICACHE:
        if not truthy(props.get("atRestEncryptionEnabled")):
            yield Finding("the cache is not encrypted at rest", "set at_rest_encryption_enabled=True")
        if not truthy(props.get("transitEncryptionEnabled")):
            yield Finding("the cache accepts connections without TLS", "set transit_encryption_enabled=True")
    elif resource.type == CLOUD_SQL:
        # Cloud SQL encrypts at rest always; TLS is what the instance must require
        if dig(props, "settings", "ipConfiguration", "sslMode") not in SQL_TLS_MODES:
            yield Finding("Cloud SQL accepts connections without TLS",
                          "set settings.ip_configuration.ssl_mode='ENCRYPTED_ONLY'")  # fmt: skip
    elif resource.type == LAUNCH_TEMPLATE:
        for mapping in props.get("blockDeviceMappings") or []:
            if isinstance(mapping, dict) and "ebs" in mapping and not truthy(dig(mapping, "ebs", "encrypted")):
                yield Finding(f"node volume {mapping.get('deviceName', '?')} is not encrypted at rest",
                              "set ebs.encrypted='true' (and kms_key_id) in the launch template")  # fmt: skip
    elif resource.type == EKS_CLUSTER:
        if "secrets" not in (dig(props, "encryptionConfig", "resources") or []):
            yield Finding("the cluster's Kubernetes secrets are not envelope-encrypted",
                          "set encryption_config with a KMS key and resources=['secrets']")  # fmt: skip
    elif resource.type == MEMORYSTORE and props.get("transitEncryptionMode") != "SERVER_AUTHENTICATION":
        yield Finding("Memorystore accepts connections without TLS",
                      "set transit_encryption_mode='SERVER_AUTHENTICATION'")


def check_deletion_safety(resource: PlannedResource, settings: PolicySettings) -> Iterator[Finding]:
    props = resource.properties
    if resource.type == RDS:
        if not truthy(props.get("deletionProtection")):
            yield Finding("the database can be deleted: deletion protection is off", "set deletion_protection=True")
        if truthy(props.get("skipFinalSnapshot")) or not props.get("finalSnapshotIdentifier"):
            yield Finding("deleting the database would keep no final snapshot",
                          "set skip_final_snapshot=False and a final_snapshot_identifier")  # fmt: skip
    elif resource.type == ELASTICACHE and not props.get("finalSnapshotIdentifier"):
        yield Finding("deleting the cache would keep no final snapshot", "set final_snapshot_identifier")
    elif resource.type == CLOUD_SQL:
        if props.get("deletionProtection") is False or not truthy(dig(props, "settings", "deletionProtectionEnabled")):
            yield Finding("the database can be deleted: deletion protection is off",
                          "set deletion_protection=True and settings.deletion_protection_enabled=True")  # fmt: skip
        if not truthy(dig(props, "settings", "backupConfiguration", "enabled")):
            yield Finding("the database has no automated backups (nothing to restore after a deletion)",
                          "set settings.backup_configuration.enabled=True")  # fmt: skip
    elif resource.type == MEMORYSTORE and props.get("deletionProtection") is False:
        yield Finding("the cache can be deleted: deletion protection is off", "set deletion_protection=True")
    elif resource.type in BUCKETS and truthy(props.get("forceDestroy")):
        yield Finding("deleting the stack would delete the bucket with its objects", "set force_destroy=False")


ENCRYPTION = Rule("encrypted-data-stores", "Databases and caches are encrypted at rest and require TLS; node "
                  "volumes and the cluster's secrets are encrypted at rest.",
                  resource_check=check_encryption)  # fmt: skip
DELETION_SAFETY = Rule("data-store-deletion-safety", "Data stores have deletion protection and keep a final "
                       "snapshot; buckets are not force-destroyed.", resource_check=check_deletion_safety)
