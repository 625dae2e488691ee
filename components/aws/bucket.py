"""The S3 bucket for model artifacts and backups: versioned, SSE-KMS, no public access, TLS only,
backups expired after their retention."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from helixflow.components.aws.common import child, kms_key, output_document

TYPE = "helixflow:aws:Bucket"


@dataclass(frozen=True)
class BucketArgs:
    model_prefix: str = "models/"
    backup_prefix: str = "backups/"
    backup_retention_days: int = 30

    def validate(self) -> None:
        for field, prefix in (("model_prefix", self.model_prefix), ("backup_prefix", self.backup_prefix)):
            if not prefix.endswith("/") or prefix.startswith("/"):
                raise ValueError(f"{field} {prefix!r}: a prefix like 'models/' (no leading '/', a trailing one)")
        if self.model_prefix.startswith(self.backup_prefix) or self.backup_prefix.startswith(self.model_prefix):
            raise ValueError("model_prefix and backup_prefix must not contain each other (their access differs)")
        if self.backup_retention_days < 1:
            raise ValueError(f"backup_retention_days {self.backup_retention_days}: at least 1")


class Bucket(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for prefixes whose access could not be told apart."""

    bucket: pulumi.Output[str]
    arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        key = kms_key(f"{name}-objects", "the bucket's objects", self)
        bucket = aws.s3.Bucket(name, bucket_prefix=f"{name}-"[:37], force_destroy=False, opts=child(self))
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                       rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
                                       opts=child(self))  # fmt: skip
        block = aws.s3.BucketPublicAccessBlock(f"{name}-no-public", bucket=bucket.id, block_public_acls=True,
                                               block_public_policy=True, ignore_public_acls=True,
                                               restrict_public_buckets=True, opts=child(self))  # fmt: skip
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                                    status="Enabled"), opts=child(self))  # fmt: skip
        aws.s3.BucketServerSideEncryptionConfiguration(f"{name}-encryption", bucket=bucket.id, rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn),
                bucket_key_enabled=True,
            )], opts=child(self))  # fmt: skip
        aws.s3.BucketPolicy(f"{name}-tls-only", bucket=bucket.id, policy=output_document({
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }), opts=child(self, depends_on=[block]))  # fmt: skip
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-backups", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=args.backup_prefix),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.backup_retention_days),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=args.backup_retention_days),
            ),
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-uploads", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7),
            ),
        ], opts=child(self))  # fmt: skip
        self.bucket = bucket.bucket
        self.arn = bucket.arn
        self.kms_key_arn = key.arn
        self.register_outputs({"bucket": self.bucket, "arn": self.arn, "kms_key_arn": self.kms_key_arn})
