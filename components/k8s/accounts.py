"""The Kubernetes service accounts that the cloud identities bind: the SGLang workers (read the model prefix)
and the backup job (write the backup prefix), in the runtime namespace.

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
WORKER_ACCOUNT, BACKUP_ACCOUNT = "sglang-worker", "backup"
GKE_SERVICE_ACCOUNT = "iam.gke.io/gcp-service-account"  # Workload Identity: the GSA a KSA acts as
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class WorkloadAccounts:
    """The accounts' names and annotations. The cloud identities are made for these names (the programs read
    them from here), so the pods and the grants cannot drift apart."""

    worker: str = WORKER_ACCOUNT
    backup: str = BACKUP_ACCOUNT
    worker_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    backup_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)

    def validate(self) -> None:
        """Raises ValueError for names no cluster accepts, or one account for both (their grants differ)."""
        for what, name in (("worker", self.worker), ("backup", self.backup)):
            if not _DNS_LABEL.match(name):
                raise ValueError(f"the {what} service account {name!r} is not a Kubernetes name")
        if self.worker == self.backup:
            raise ValueError("the workers and the backup job need different service accounts (their grants differ)")


@dataclass(frozen=True)
class AccountsArgs:
    namespace: str
    accounts: WorkloadAccounts = field(default_factory=WorkloadAccounts)


class ServiceAccounts(pulumi.ComponentResource):
    """Both accounts in the namespace. Raises ValueError (before anything is created) for bad names."""

    def __init__(self, name: str, args: AccountsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.accounts.validate()
        super().__init__(TYPE, name, None, opts)
        a = args.accounts
        self.accounts: list[pulumi.Resource] = []  # what the pods running under them depend on
        for role, account, notes in (("worker", a.worker, a.worker_annotations),
                                           ("backup", a.backup, a.backup_annotations)):  # fmt: skip
            self.accounts.append(k8s.core.v1.ServiceAccount(
                f"{name}-{role}", metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=account, namespace=args.namespace, labels=pods.labels(account),
                    annotations=dict(notes) or None),
                automount_service_account_token=False, opts=pulumi.ResourceOptions(parent=self),
            ))  # fmt: skip
        self.register_outputs({})
