"""The `gcp` target: VPC, GKE with GPU node pools, Cloud SQL, Memorystore and GCS, then the Kubernetes layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helixflow.stacks.config import GcpStack
from helixflow.stacks.config.gcp import GcpSettings
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.prereqs import Prerequisite
from helixflow.stacks.secrets import SecretSource
from helixflow.stacks.targets.base import Program
from helixflow.stacks.targets.cloud import CloudTarget


class GcpTarget(CloudTarget[GcpStack]):
    name = "gcp"
    description = "GKE with GPU node pools, Cloud SQL, Memorystore, GCS"
    config_model = GcpStack
    cluster_kind = "gke"
    unprotect_hint = "lift it on Cloud SQL and GKE"

    def require_deployable(self, config: GcpStack) -> None:
        super().require_deployable(config)
        if not config.gcp.project:
            raise HelixFlowError("helixflow:gcp.project is not set: a gcp stack deploys into one GCP project",
                                 hint="`helixflow config set gcp.project YOUR-PROJECT-ID`")  # fmt: skip

    def settings(self, config: GcpStack) -> GcpSettings:
        return config.gcp

    def checks(self, pulumi_home: Path) -> list[Prerequisite]:
        from helixflow.stacks.targets.gcp_preflight import gcp_checks

        return gcp_checks(pulumi_home)

    def access(self) -> Any:
        from helixflow.stacks.targets.gcp_preflight import find_credentials
        from helixflow.stacks.targets.gcp_program import GcpAccess

        return GcpAccess(credentials=find_credentials() or "")

    def build_program(self, config: GcpStack, secrets: SecretSource, host: Any) -> Program:
        from helixflow.stacks.targets.gcp_program import build_gcp_program

        return build_gcp_program(config, secrets, host)

    def protected_stores(self, config: GcpStack, stack: str) -> list[str]:
        from helixflow.stacks.targets.gcp_program import protected_stores

        return protected_stores(config, stack)
