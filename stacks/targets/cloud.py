"""What the `aws` and `gcp` targets share: preflight from the cloud's checks, the data stores' deletion guard,
status read from the new cluster, and backups through the layer's CronJob. Each cloud's target names its
checks, its program, its section of the configuration and the words of its messages."""

from __future__ import annotations

import tempfile
from abc import abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from helixflow.stacks.backup.model import BackupInfo, RestoreSummary
from helixflow.stacks.config.cloud import ClusterRuntimeSettings
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.prereqs import Prerequisite
from helixflow.stacks.secrets import SecretSource
from helixflow.stacks.targets.base import ComponentStatus, ConfigT, Program, Target


class CloudTarget(Target[ConfigT]):
    status_columns = ("ready", "detail")
    cluster_kind: ClassVar[str]  # eks / gke: names the temporary kubeconfig
    unprotect_hint: ClassVar[str]  # after "run `helixflow up` to ": what lifting deletion protection takes

    @abstractmethod
    def settings(self, config: ConfigT) -> ClusterRuntimeSettings:
        """The configuration's section of this cloud (config.aws, config.gcp)."""

    @abstractmethod
    def checks(self, pulumi_home: Path) -> list[Prerequisite]:
        """Credentials and provider plugins, as `doctor` lists them."""

    @abstractmethod
    def access(self) -> Any:
        """What the program needs of the credentials found (preflight's result)."""

    @abstractmethod
    def build_program(self, config: ConfigT, secrets: SecretSource, host: Any) -> Program: ...

    @abstractmethod
    def protected_stores(self, config: ConfigT, stack: str) -> list[str]:
        """The data stores the configuration keeps from deletion."""

    def preflight(self, config: ConfigT, paths: StackPaths) -> Any:
        """Raises HelixFlowError naming every missing prerequisite and how to get it, before the engine starts."""
        failed = [check for check in self.checks(paths.pulumi_home) if check.status == "fail"]
        if failed:
            missing = "; ".join(f"{c.name}: {c.detail}" for c in failed)
            raise HelixFlowError(f"the {self.name} target cannot run here: {missing}",
                                 hint="; ".join(c.hint for c in failed))  # fmt: skip
        from helixflow.stacks.kubesim.binaries import install_kubernetes_provider

        install_kubernetes_provider(paths.pulumi_home)
        return self.access()

    def program(self, config: ConfigT, secrets: SecretSource, paths: StackPaths, host: Any) -> Program:
        return self.build_program(config, secrets, host)

    def doctor_checks(self, config: ConfigT | None) -> dict[str, Callable[[], list[Prerequisite]]]:
        from helixflow.stacks.paths import helixflow_home

        return {self.name: lambda: self.checks(helixflow_home() / "pulumi-home")}

    def check_down(self, config: ConfigT, paths: StackPaths, outputs: Mapping[str, Any]) -> None:
        """Refuses while the data stores are protected: as configured, or as last deployed (an `up` applies it)."""
        deployed = [str(s) for s in outputs.get("protected_data_stores") or []]
        protected = deployed or self.protected_stores(config, paths.stack)
        if protected:
            setting = f"{self.name}.deletion_protection"
            raise HelixFlowError(
                f"stack '{paths.stack}' keeps its data stores (deletion protection): {'; '.join(protected)}",
                hint=f"set helixflow:{setting} false (`helixflow config set {setting} false`), run `helixflow up` "
                f"to {self.unprotect_hint}, then `helixflow down`",
            )

    def status(self, outputs: Mapping[str, Any]) -> list[ComponentStatus]:
        from helixflow.stacks.targets.kubernetes_status import cluster_statuses

        text = str(outputs.get("kubeconfig_yaml") or "")
        if not text:
            return []
        with tempfile.TemporaryDirectory(prefix=f"helixflow-{self.cluster_kind}-") as directory:
            path = Path(directory) / "kubeconfig"
            path.write_text(text)
            path.chmod(0o600)
            return cluster_statuses({**outputs, "kubeconfig": str(path), "context": ""})

    # --- backups: the layer's pg_dump CronJob into the platform's bucket, run now through the Kubernetes API --
    def backup(
        self, config: ConfigT, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], *, retention_days: int,
        destination: str | None = None,
    ) -> BackupInfo:  # fmt: skip
        from helixflow.stacks.backup import cluster

        cluster.refuse_destination(destination, self.name)
        self._require_backups(config)
        return cluster.cluster_backup(outputs())  # expiry is the bucket's lifecycle rule's, not retention_days

    def backups(self, config: ConfigT, paths: StackPaths, source: str | None = None,
                outputs: Callable[[], Mapping[str, Any]] | None = None) -> list[BackupInfo]:  # fmt: skip
        from helixflow.stacks.backup import cluster

        if source:
            return cluster.bucket_backups(None, source)
        self._require_backups(config)
        # the bucket's name is chosen by the cloud: it is in the outputs, not the configuration
        job = (outputs() if outputs else {}).get(cluster.OUTPUT)
        if not isinstance(job, dict) or not job.get("bucket_uri"):
            raise HelixFlowError("the stack's last `up` made no backup CronJob, so it has no bucket of backups yet",
                                 hint="run `helixflow up`, or give --from URL")  # fmt: skip
        return cluster.bucket_backups(str(job["bucket_uri"]))

    def restore(
        self, config: ConfigT, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], backup: str, *,
        confirmed: bool, retention_days: int, restart: Callable[[], None],
    ) -> RestoreSummary:  # fmt: skip
        """Through the restore template's Jobs; the writers are scaled back by the restore itself, so `restart`
        (an `up`, which leaves replica counts to the HPA) is not needed."""
        from helixflow.stacks.backup import cluster_restore

        cluster_restore.check_reference(backup)
        self._require_backups(config)
        return cluster_restore.restore(outputs(), backup, confirmed=confirmed)

    def _require_backups(self, config: ConfigT) -> None:
        if not self.settings(config).backup.enabled:
            setting = f"{self.name}.backup.enabled"
            raise HelixFlowError(f"this stack runs no backup CronJob ({setting} is false)",
                                 hint=f"`helixflow config set {setting} true`, then `helixflow up`")  # fmt: skip
