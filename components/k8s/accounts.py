"""The Kubernetes service accounts that the cloud identities bind: the SGLang workers (read the model prefix),
the backup job (write the backup prefix) and the restore job (read it), in the runtime namespace.

The cloud side binds them by name: EKS Pod Identity associates an IAM role with (namespace, name) and needs
nothing on the account; GKE Workload Identity needs the `iam.gke.io/gcp-service-account` annotation naming
the Google service account. The cloud programs pass what goes on each account (`WorkloadAccounts`).

No token is mounted by default (`automountServiceAccountToken: false` on the account): a pod that needs
cloud credentials asks for its token itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods

TYPE = "helixflow:k8s:ServiceAccounts"
WORKER_ACCOUNT, BACKUP_ACCOUNT, RESTORE_ACCOUNT = "sglang-worker", "backup", "db-restore"
GKE_SERVICE_ACCOUNT = "iam.gke.io/gcp-service-account"  # Workload Identity: the GSA a KSA acts as
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class WorkloadAccounts:
    """The accounts' names and annotations. The cloud identities are made for these names (the programs read
    them from here), so the pods and the grants cannot drift apart."""

    worker: str = WORKER_ACCOUNT
    backup: str = BACKUP_ACCOUNT
    restore: str = RESTORE_ACCOUNT
    worker_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    backup_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    restore_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)

    def roles(self) -> tuple[tuple[str, str, Mapping[str, pulumi.Input[str]]], ...]:
        """(role, account, annotations) of each account."""
        return (("worker", self.worker, self.worker_annotations), ("backup", self.backup, self.backup_annotations),
                ("restore", self.restore, self.restore_annotations))  # fmt: skip

    def validate(self) -> None:
        """Raises ValueError for names no cluster accepts, or one account for two roles (their grants differ)."""
        for what, name, _ in self.roles():
            if not _DNS_LABEL.match(name):
                raise ValueError(f"the {what} service account {name!r} is not a Kubernetes name")
        if len({name for _, name, _ in self.roles()}) < len(self.roles()):
            raise ValueError("the workers, the backup job and the restore job need different service accounts "
                             "(their grants differ)")  # fmt: skip


@dataclass(frozen=True)
class AccountsArgs:
    namespace: str
    accounts: WorkloadAccounts = field(default_factory=WorkloadAccounts)


class ServiceAccounts(pulumi.ComponentResource):
    """The accounts in the namespace. Raises ValueError (before anything is created) for bad names."""

    def __init__(self, name: str, args: AccountsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.accounts.validate()
        super().__init__(TYPE, name, None, opts)
        a = args.accounts
        self.accounts: list[pulumi.Resource] = []  # what the pods running under them depend on
        for role, account, notes in a.roles():
            self.accounts.append(k8s.core.v1.ServiceAccount(
                f"{name}-{role}", metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=account, namespace=args.namespace, labels=pods.labels(account),
                    annotations=dict(notes) or None),
                automount_service_account_token=False, opts=pulumi.ResourceOptions(parent=self),
            ))  # fmt: skip
        self.register_outputs({})
