"""The `aws` target: VPC, EKS with GPU node groups, RDS, ElastiCache and S3, then the Kubernetes layer."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from helixflow.stacks.backup.model import BackupInfo
from helixflow.stacks.config import AwsStack
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.prereqs import Prerequisite
from helixflow.stacks.secrets import SecretSource
from helixflow.stacks.targets.base import ComponentStatus, Program, Target


class AwsTarget(Target[AwsStack]):
    name = "aws"
    description = "EKS with GPU node groups, RDS PostgreSQL, ElastiCache Redis, S3"
    config_model = AwsStack
    status_columns = ("ready", "detail")

    def preflight(self, config: AwsStack, paths: StackPaths) -> Any:
        """Raises HelixFlowError naming every missing prerequisite and how to get it, before the engine starts."""
        from helixflow.stacks.targets.aws_preflight import aws_checks, find_credentials
        from helixflow.stacks.targets.aws_program import AwsAccess

        failed = [check for check in aws_checks(paths.pulumi_home) if check.status == "fail"]
        if failed:
            missing = "; ".join(f"{c.name}: {c.detail}" for c in failed)
            raise HelixFlowError(f"the aws target cannot run here: {missing}", hint="; ".join(c.hint for c in failed))
        from helixflow.stacks.kubesim.binaries import install_kubernetes_provider

        install_kubernetes_provider(paths.pulumi_home)
        return AwsAccess(credentials=find_credentials() or "", profile=os.environ.get("AWS_PROFILE"))

    def program(self, config: AwsStack, secrets: SecretSource, paths: StackPaths, host: Any) -> Program:
        from helixflow.stacks.targets.aws_program import build_aws_program

        return build_aws_program(config, secrets, host)

    def doctor_checks(self, config: AwsStack | None) -> dict[str, Callable[[], list[Prerequisite]]]:
        from helixflow.stacks.paths import helixflow_home
        from helixflow.stacks.targets.aws_preflight import aws_checks

        return {"aws": lambda: aws_checks(helixflow_home() / "pulumi-home")}

    def check_down(self, config: AwsStack, paths: StackPaths, outputs: Mapping[str, Any]) -> None:
        """Refuses while the data stores are protected: as configured, or as last deployed (an `up` applies it)."""
        from helixflow.stacks.targets.aws_program import protected_stores

        deployed = [str(s) for s in outputs.get("protected_data_stores") or []]
        protected = deployed or protected_stores(config, paths.stack)
        if protected:
            raise HelixFlowError(
                f"stack '{paths.stack}' keeps its data stores (deletion protection): {', '.join(protected)}",
                hint="set helixflow:aws.deletion_protection false (`helixflow config set aws.deletion_protection "
                "false`), run `helixflow up` to apply it, then `helixflow down` (RDS leaves a final snapshot)",
            )

    def status(self, outputs: Mapping[str, Any]) -> list[ComponentStatus]:
        from helixflow.stacks.targets.kubernetes_status import cluster_statuses

        text = str(outputs.get("kubeconfig_yaml") or "")
        if not text:
            return []
        with tempfile.TemporaryDirectory(prefix="helixflow-eks-") as directory:
            path = Path(directory) / "kubeconfig"
            path.write_text(text)
            path.chmod(0o600)
            return cluster_statuses({**outputs, "kubeconfig": str(path), "context": ""})

    # --- backups: the layer's pg_dump CronJob into the platform's bucket, run now through the Kubernetes API --
    backup_hint = ("restore into a cluster stack is not run by helixflow in this release: its backup identity "
                   "may only write the backup prefix; the managed database's own backups restore from the console")

    def backup(
        self, config: AwsStack, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], *, retention_days: int,
        destination: str | None = None,
    ) -> BackupInfo:  # fmt: skip
        from helixflow.stacks.backup import cluster

        cluster.refuse_destination(destination, self.name)
        if not config.aws.backup.enabled:
            raise HelixFlowError("this stack runs no backup CronJob (aws.backup.enabled is false)",
                                 hint="`helixflow config set aws.backup.enabled true`, then `helixflow up`")
        return cluster.cluster_backup(outputs())  # expiry is the bucket's lifecycle rule's, not retention_days

    def backups(self, config: AwsStack, paths: StackPaths, source: str | None = None) -> list[BackupInfo]:
        from helixflow.stacks.backup import cluster

        if not source:  # the bucket's name is chosen by the cloud: it is in the outputs, not the configuration
            prefix = config.aws.bucket.backup_prefix
            raise HelixFlowError(f"give the stack's backup prefix: --from s3://BUCKET/{prefix}",
                                 hint="`helixflow outputs` shows BUCKET (its bucket)")
        return cluster.bucket_backups(None, source)
