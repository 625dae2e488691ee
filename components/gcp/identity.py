"""Who may touch the bucket, through Workload Identity: a Google service account per job, which only its
Kubernetes service account may impersonate (roles/iam.workloadIdentityUser on that GSA, for
`PROJECT.svc.id.goog[NAMESPACE/KSA]`). The SGLang workers read the model prefix; the backup job creates
objects under the backup prefix (objectCreator: no read, no overwrite, no delete); the restore job reads
that prefix (objectViewer); nobody else gets a grant.

One bucket with IAM conditions on the object name rather than two buckets: the lifecycle, versioning and
public-access settings stay in one place, and a condition cannot be widened by an object ACL because
uniform bucket-level access disables ACLs. Listing is granted at the bucket (GCS checks list against the
bucket, not the objects), so workers see object names outside models/ but cannot read them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

TYPE = "helixflow:gcp:Identities"
WORKER_KSA, BACKUP_KSA, RESTORE_KSA = "sglang-worker", "backup", "db-restore"  # the names the AWS target binds


@dataclass(frozen=True)
class IdentitiesArgs:
    project: str
    namespace: str
    bucket: pulumi.Input[str]
    model_prefix: str = "models/"
    backup_prefix: str = "backups/"
    worker_service_account: str = WORKER_KSA
    backup_service_account: str = BACKUP_KSA
    restore_service_account: str = RESTORE_KSA

    def validate(self) -> None:
        accounts = (self.worker_service_account, self.backup_service_account, self.restore_service_account)
        if len(set(accounts)) < len(accounts):
            raise ValueError("the workers, the backup job and the restore job need different service accounts "
                             "(their grants differ)")  # fmt: skip


def prefix_condition(bucket: pulumi.Input[str], prefix: str, with_listing: bool,
                     title: str) -> pulumi.Output[gcp.storage.BucketIAMMemberConditionArgs]:  # fmt: skip
    def expression(name: str) -> str:
        objects = f'resource.name.startsWith("projects/_/buckets/{name}/objects/{prefix}")'
        return f'resource.type == "storage.googleapis.com/Bucket" || {objects}' if with_listing else objects

    return pulumi.Output.from_input(bucket).apply(
        lambda name: gcp.storage.BucketIAMMemberConditionArgs(title=title, expression=expression(name)))


def account_id(base: str, role: str) -> str:
    """A service account id (6-30 of a-z, 0-9, -) that keeps the role's name whatever the base's length."""
    return f"{base[: 29 - len(role)].rstrip('-')}-{role}"


class Identities(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) when two jobs would share one service account."""

    worker_email: pulumi.Output[str]
    backup_email: pulumi.Output[str]
    restore_email: pulumi.Output[str]

    def __init__(self, name: str, args: IdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        worker = self._account(name, "worker", args, args.worker_service_account)
        backup = self._account(name, "backup", args, args.backup_service_account)
        child = pulumi.ResourceOptions(parent=self)
        gcp.storage.BucketIAMMember(
            f"{name}-worker-reads-models", bucket=args.bucket, role="roles/storage.objectViewer",
            member=worker.member, opts=child,
            condition=prefix_condition(args.bucket, args.model_prefix, with_listing=True, title="model prefix only"),
        )  # fmt: skip
        gcp.storage.BucketIAMMember(
            f"{name}-backup-writes-backups", bucket=args.bucket, role="roles/storage.objectCreator",
            member=backup.member, opts=child,
            condition=prefix_condition(args.bucket, args.backup_prefix, with_listing=False,
                                       title="backup prefix only"),
        )  # fmt: skip
        restore = self._account(name, "restore", args, args.restore_service_account)
        gcp.storage.BucketIAMMember(
            f"{name}-restore-reads-backups", bucket=args.bucket, role="roles/storage.objectViewer",
            member=restore.member, opts=child,
            condition=prefix_condition(args.bucket, args.backup_prefix, with_listing=True, title="backup prefix only"),
        )  # fmt: skip
        self.worker_email = worker.email
        self.backup_email = backup.email
        self.restore_email = restore.email
        self.register_outputs({"worker_email": self.worker_email, "backup_email": self.backup_email,
                               "restore_email": self.restore_email})  # fmt: skip

    def _account(self, base: str, role: str, args: IdentitiesArgs, ksa: str) -> gcp.serviceaccount.Account:
        child = pulumi.ResourceOptions(parent=self)
        name = f"{base}-{role}"
        account = gcp.serviceaccount.Account(
            name, account_id=account_id(base, role), display_name=f"HelixFlow {ksa} ({args.namespace})", opts=child
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{args.project}.svc.id.goog[{args.namespace}/{ksa}]", opts=child,
        )  # fmt: skip
        return account
