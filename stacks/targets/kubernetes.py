"""The `kubernetes` target: the Kubernetes layer (components/k8s) on a cluster you already have, from a
kubeconfig. `helixflow sim up` gives one on this machine to rehearse with."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helixflow.stacks.backup.model import BackupInfo, RestoreSummary
from helixflow.stacks.config import KubernetesStack
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.prereqs import Prerequisite
from helixflow.stacks.secrets import SecretSource
from helixflow.stacks.targets.base import ComponentStatus, Program, Target


@dataclass(frozen=True)
class ClusterAccess:
    """What the program needs of the host: the kubeconfig's text and the context to use."""

    kubeconfig: str
    context: str | None


def kubeconfig_path(config: KubernetesStack) -> Path:
    configured = config.kubernetes.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(configured or "~/.kube/config").expanduser()


def check_required_crds(kubeconfig: Path, config: KubernetesStack) -> None:
    """Stop before anything is created when an add-on marked present lacks a CRD HelixFlow's objects need."""
    from helixflow.components.k8s.addons import REQUIRED_CRDS
    from helixflow.stacks.targets.kubernetes_status import installed_crds

    addons = config.kubernetes.addons
    needed = {crd: addon for crd, addon in REQUIRED_CRDS.items() if getattr(addons, addon) == "present"}
    if not needed:
        return
    missing = sorted(set(needed) - installed_crds(kubeconfig, config.kubernetes.context))
    if missing:
        named = "; ".join(f"{crd} (from {needed[crd].replace('_', '-')})" for crd in missing)
        wanted = sorted({needed[crd] for crd in missing})
        raise HelixFlowError(
            f"the cluster lacks custom resource definitions HelixFlow's objects need: {named}",
            hint="install those add-ons, or set " + ", ".join(f"kubernetes.addons.{a}: install" for a in wanted),
        )


class KubernetesTarget(Target[KubernetesStack]):
    name = "kubernetes"
    description = "the runtime on an existing Kubernetes cluster (kubeconfig), GPU workers on its GPU nodes"
    config_model = KubernetesStack
    status_columns = ("ready", "detail")

    def preflight(self, config: KubernetesStack, paths: StackPaths) -> ClusterAccess:
        from helixflow.stacks.kubesim.binaries import install_kubernetes_provider

        path = kubeconfig_path(config)
        try:
            text = path.read_text()
        except OSError as err:
            hint = "set kubernetes.kubeconfig, or KUBECONFIG (`helixflow sim up` makes one)"
            raise HelixFlowError(f"cannot read the kubeconfig {path}: {err.strerror}", hint=hint) from None
        self._check_context(text, config.kubernetes.context, path)
        check_required_crds(path, config)
        install_kubernetes_provider(paths.pulumi_home)
        return ClusterAccess(kubeconfig=text, context=config.kubernetes.context)

    @staticmethod
    def _check_context(text: str, context: str | None, path: Path) -> None:
        import yaml

        try:
            document = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            hint = "point kubernetes.kubeconfig at one"
            raise HelixFlowError(f"{path} is not a kubeconfig: {err}", hint=hint) from None
        contexts = [c.get("name") for c in document.get("contexts") or [] if isinstance(c, dict)]
        wanted = context or document.get("current-context")
        if wanted not in contexts:
            known = ", ".join(map(str, contexts)) or "none"
            raise HelixFlowError(f"{path} has no context {wanted!r}", hint=f"set kubernetes.context to one of: {known}")

    def program(
        self, config: KubernetesStack, secrets: SecretSource, paths: StackPaths, host: ClusterAccess
    ) -> Program:
        from helixflow.stacks.targets.kubernetes_program import build_kubernetes_program

        return build_kubernetes_program(config, secrets, host)

    def doctor_checks(self, config: KubernetesStack | None) -> dict[str, Callable[[], list[Prerequisite]]]:
        from helixflow.stacks.kubesim.binaries import find_kubernetes_provider, kubernetes_provider_version

        def provider() -> list[Prerequisite]:
            found = find_kubernetes_provider()
            version = kubernetes_provider_version()
            if found:
                return [Prerequisite("pulumi kubernetes provider", "ok", f"{version} at {found}")]
            return [Prerequisite("pulumi kubernetes provider", "fail", f"{version} not built",
                                 "run ./scripts/setup.sh (it builds the provider once)")]  # fmt: skip

        def kubeconfig() -> list[Prerequisite]:
            path = kubeconfig_path(config or KubernetesStack(target="kubernetes"))
            if path.is_file():
                return [Prerequisite("kubeconfig", "ok", str(path))]
            return [Prerequisite("kubeconfig", "fail", f"{path} not found", "set kubernetes.kubeconfig or KUBECONFIG")]

        return {"cluster": lambda: [*provider(), *kubeconfig()]}

    def status(self, outputs: Mapping[str, Any]) -> list[ComponentStatus]:
        from helixflow.stacks.targets.kubernetes_status import cluster_statuses

        return cluster_statuses(outputs)

    def purge(self, config: KubernetesStack, paths: StackPaths) -> None:
        """The data namespace outlives `down` (its volumes hold the database): delete it now."""
        from helixflow.stacks.targets.kubernetes_status import delete_namespace

        if config.kubernetes.data.mode == "in-cluster":
            delete_namespace(kubeconfig_path(config), config.kubernetes.context,
                             f"{config.kubernetes.namespace_prefix}-data")  # fmt: skip

    # --- backups: the layer's pg_dump CronJob, run now through the Kubernetes API ------------------------

    def backup(
        self, config: KubernetesStack, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], *,
        retention_days: int, destination: str | None = None,
    ) -> BackupInfo:  # fmt: skip
        from helixflow.stacks.backup import cluster

        cluster.refuse_destination(destination, self.name)
        if not config.kubernetes.backup.bucket_uri:
            raise HelixFlowError("this stack runs no backup CronJob: kubernetes.backup.bucket_uri is not set",
                                 hint="set it (`helixflow config set kubernetes.backup.bucket_uri s3://bucket/prefix/`)"
                                 " and give the backup service account its identity, then `helixflow up`")  # fmt: skip
        return cluster.cluster_backup(outputs())  # expiry is the bucket's lifecycle rule's, not retention_days

    def backups(self, config: KubernetesStack, paths: StackPaths, source: str | None = None,
                outputs: Callable[[], Mapping[str, Any]] | None = None) -> list[BackupInfo]:  # fmt: skip
        from helixflow.stacks.backup import cluster

        return cluster.bucket_backups(config.kubernetes.backup.bucket_uri, source)

    def restore(
        self, config: KubernetesStack, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], backup: str, *,
        confirmed: bool, retention_days: int, restart: Callable[[], None],
    ) -> RestoreSummary:  # fmt: skip
        """Through the restore template's Jobs; the writers are scaled back by the restore itself, so `restart`
        (an `up`, which leaves replica counts to the HPA) is not needed."""
        from helixflow.stacks.backup import cluster_restore

        cluster_restore.check_reference(backup)
        if not config.kubernetes.backup.bucket_uri:
            raise HelixFlowError("this stack runs no backup CronJob (kubernetes.backup.bucket_uri is not set), so it "
                                 "has no backups to restore", hint="set it, then `helixflow up`")  # fmt: skip
        return cluster_restore.restore(outputs(), backup, confirmed=confirmed)
