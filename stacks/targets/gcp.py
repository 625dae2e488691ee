"""The `gcp` target: VPC, GKE with GPU node pools, Cloud SQL, Memorystore and GCS, then the Kubernetes layer."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from helixflow.stacks.backup.model import BackupInfo
from helixflow.stacks.config import GcpStack
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.prereqs import Prerequisite
from helixflow.stacks.secrets import SecretSource
from helixflow.stacks.targets.base import ComponentStatus, Program, Target


class GcpTarget(Target[GcpStack]):
    name = "gcp"
    description = "GKE with GPU node pools, Cloud SQL, Memorystore, GCS"
    config_model = GcpStack
    status_columns = ("ready", "detail")

    def require_deployable(self, config: GcpStack) -> None:
        super().require_deployable(config)
        if not config.gcp.project:
            raise HelixFlowError("helixflow:gcp.project is not set: a gcp stack deploys into one GCP project",
                                 hint="`helixflow config set gcp.project YOUR-PROJECT-ID`")  # fmt: skip

    def preflight(self, config: GcpStack, paths: StackPaths) -> Any:
        """Raises HelixFlowError naming every missing prerequisite and how to get it, before the engine starts."""
        from helixflow.stacks.targets.gcp_preflight import find_credentials, gcp_checks
        from helixflow.stacks.targets.gcp_program import GcpAccess

        failed = [check for check in gcp_checks(paths.pulumi_home) if check.status == "fail"]
        if failed:
            missing = "; ".join(f"{c.name}: {c.detail}" for c in failed)
            raise HelixFlowError(f"the gcp target cannot run here: {missing}", hint="; ".join(c.hint for c in failed))
        from helixflow.stacks.kubesim.binaries import install_kubernetes_provider

        install_kubernetes_provider(paths.pulumi_home)
        return GcpAccess(credentials=find_credentials() or "")

    def program(self, config: GcpStack, secrets: SecretSource, paths: StackPaths, host: Any) -> Program:
        from helixflow.stacks.targets.gcp_program import build_gcp_program

        return build_gcp_program(config, secrets, host)

    def doctor_checks(self, config: GcpStack | None) -> dict[str, Callable[[], list[Prerequisite]]]:
        from helixflow.stacks.paths import helixflow_home
        from helixflow.stacks.targets.gcp_preflight import gcp_checks

        return {"gcp": lambda: gcp_checks(helixflow_home() / "pulumi-home")}

    def check_down(self, config: GcpStack, paths: StackPaths, outputs: Mapping[str, Any]) -> None:
        """Refuses while the data stores are protected: as configured, or as last deployed (an `up` applies it)."""
        from helixflow.stacks.targets.gcp_program import protected_stores

        deployed = [str(s) for s in outputs.get("protected_data_stores") or []]
        protected = deployed or protected_stores(config, paths.stack)
        if protected:
            raise HelixFlowError(
                f"stack '{paths.stack}' keeps its data stores (deletion protection): {'; '.join(protected)}",
                hint="set helixflow:gcp.deletion_protection false (`helixflow config set gcp.deletion_protection "
                "false`), run `helixflow up` to lift it on Cloud SQL and GKE, then `helixflow down`",
            )

    def status(self, outputs: Mapping[str, Any]) -> list[ComponentStatus]:
        from helixflow.stacks.targets.kubernetes_status import cluster_statuses

        text = str(outputs.get("kubeconfig_yaml") or "")
        if not text:
            return []
        with tempfile.TemporaryDirectory(prefix="helixflow-gke-") as directory:
            path = Path(directory) / "kubeconfig"
            path.write_text(text)
            path.chmod(0o600)
            return cluster_statuses({**outputs, "kubeconfig": str(path), "context": ""})

    # --- backups: the layer's pg_dump CronJob into the platform's bucket, run now through the Kubernetes API --
    backup_hint = ("restore into a cluster stack is not run by helixflow in this release: its backup identity "
                   "may only write the backup prefix; the managed database's own backups restore from the console")

    def backup(
        self, config: GcpStack, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], *, retention_days: int,
        destination: str | None = None,
    ) -> BackupInfo:  # fmt: skip
        from helixflow.stacks.backup import cluster

        cluster.refuse_destination(destination, self.name)
        if not config.gcp.backup.enabled:
            raise HelixFlowError("this stack runs no backup CronJob (gcp.backup.enabled is false)",
                                 hint="`helixflow config set gcp.backup.enabled true`, then `helixflow up`")
        return cluster.cluster_backup(outputs())  # expiry is the bucket's lifecycle rule's, not retention_days

    def backups(self, config: GcpStack, paths: StackPaths, source: str | None = None) -> list[BackupInfo]:
        from helixflow.stacks.backup import cluster

        if not source:  # the bucket's name is chosen by the cloud: it is in the outputs, not the configuration
            prefix = config.gcp.bucket.backup_prefix
            raise HelixFlowError(f"give the stack's backup prefix: --from gs://BUCKET/{prefix}",
                                 hint="`helixflow outputs` shows BUCKET (its bucket)")
        return cluster.bucket_backups(None, source)
