"""The stack's GCS bucket for model artifacts and backups: uniform bucket-level access (IAM only, no
ACLs), public access prevention enforced, versioning, backups expiring after their retention."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

TYPE = "helixflow:gcp:Bucket"


@dataclass(frozen=True)
class BucketArgs:
    location: str
    model_prefix: str = "models/"
    backup_prefix: str = "backups/"
    backup_retention_days: int = 30
    noncurrent_retention_days: int = 7
    force_destroy: bool = False  # True lets `down` delete a bucket that still holds objects

    def validate(self) -> None:
        for field, prefix in (("model_prefix", self.model_prefix), ("backup_prefix", self.backup_prefix)):
            if not prefix.endswith("/") or prefix.startswith("/"):
                raise ValueError(f"{field} {prefix!r} must be a relative prefix ending in /")
        if self.model_prefix.startswith(self.backup_prefix) or self.backup_prefix.startswith(self.model_prefix):
            raise ValueError("model_prefix and backup_prefix must not contain one another (their grants differ)")


class Bucket(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for prefixes the access grants cannot tell apart."""

    bucket_name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        rule = gcp.storage.BucketLifecycleRuleArgs
        condition = gcp.storage.BucketLifecycleRuleConditionArgs
        delete = gcp.storage.BucketLifecycleRuleActionArgs(type="Delete")
        bucket = gcp.storage.Bucket(
            name, location=args.location.upper(), uniform_bucket_level_access=True,
            public_access_prevention="enforced", force_destroy=args.force_destroy,
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(retention_duration_seconds=7 * 86400),
            lifecycle_rules=[
                rule(action=delete, condition=condition(age=args.backup_retention_days,
                                                        matches_prefixes=[args.backup_prefix])),
                rule(action=delete, condition=condition(days_since_noncurrent_time=args.noncurrent_retention_days,
                                                        with_state="ARCHIVED")),
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )  # fmt: skip
        self.bucket_name = bucket.name
        self.url = bucket.url
        self.register_outputs({"bucket_name": self.bucket_name, "url": self.url})
