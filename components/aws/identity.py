"""Who may touch the bucket: the SGLang workers read the model prefix, the backup job writes the backup
prefix, the restore job reads it; nobody else gets a grant. Each is an IAM role bound to a Kubernetes service
account by EKS Pod Identity (no annotations on the service account, no node role borrowed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from helixflow.components.aws.common import child, output_document, trust

TYPE = "helixflow:aws:Identities"
POD_IDENTITY = "pods.eks.amazonaws.com"


@dataclass(frozen=True)
class IdentitiesArgs:
    cluster_name: pulumi.Input[str]
    namespace: str
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    model_prefix: str = "models/"
    backup_prefix: str = "backups/"
    worker_service_account: str = "sglang-worker"
    backup_service_account: str = "backup"
    restore_service_account: str = "db-restore"

    def validate(self) -> None:
        accounts = (self.worker_service_account, self.backup_service_account, self.restore_service_account)
        if len(set(accounts)) < len(accounts):
            raise ValueError("the workers, the backup job and the restore job need different service accounts "
                             "(their grants differ)")  # fmt: skip


def _read(bucket: pulumi.Input[str], key: pulumi.Input[str], prefix: str,
          what: str = "Models") -> list[Mapping[str, Any]]:  # fmt: skip
    return [
        {"Sid": f"List{what}", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket,
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
        {"Sid": f"Read{what}", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": pulumi.Output.concat(bucket, "/", prefix, "*")},
        {"Sid": "DecryptObjects", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key},
    ]  # fmt: skip


def _write(bucket: pulumi.Input[str], key: pulumi.Input[str], prefix: str) -> list[Mapping[str, Any]]:
    return [
        {"Sid": "WriteBackups", "Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
         "Resource": pulumi.Output.concat(bucket, "/", prefix, "*")},
        {"Sid": "EncryptObjects", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Encrypt"],
         "Resource": key},
    ]  # fmt: skip


class Identities(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) when two jobs would share one service account."""

    worker_role_arn: pulumi.Output[str]
    backup_role_arn: pulumi.Output[str]
    restore_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: IdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        worker = self._role(f"{name}-worker", args, args.worker_service_account,
                            _read(args.bucket_arn, args.kms_key_arn, args.model_prefix))  # fmt: skip
        backup = self._role(f"{name}-backup", args, args.backup_service_account,
                            _write(args.bucket_arn, args.kms_key_arn, args.backup_prefix))  # fmt: skip
        restore = self._role(f"{name}-restore", args, args.restore_service_account,
                             _read(args.bucket_arn, args.kms_key_arn, args.backup_prefix, "Backups"))  # fmt: skip
        self.worker_role_arn = worker.arn
        self.backup_role_arn = backup.arn
        self.restore_role_arn = restore.arn
        self.register_outputs({"worker_role_arn": self.worker_role_arn, "backup_role_arn": self.backup_role_arn,
                               "restore_role_arn": self.restore_role_arn})  # fmt: skip

    def _role(self, name: str, args: IdentitiesArgs, service_account: str,
              statements: Sequence[Mapping[str, Any]]) -> aws.iam.Role:  # fmt: skip
        role = aws.iam.Role(name, assume_role_policy=trust(POD_IDENTITY, ("sts:AssumeRole", "sts:TagSession")),
                            opts=child(self))  # fmt: skip
        aws.iam.RolePolicy(name, role=role.id, policy=output_document(*statements), opts=child(self))
        aws.eks.PodIdentityAssociation(name, cluster_name=args.cluster_name, namespace=args.namespace,
                                       service_account=service_account, role_arn=role.arn,
                                       opts=child(self))  # fmt: skip
        return role
