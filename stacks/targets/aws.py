"""The `aws` target: VPC, EKS with GPU node groups, RDS, ElastiCache and S3, then the Kubernetes layer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from helixflow.stacks.config import AwsStack
from helixflow.stacks.config.aws import AwsSettings
from helixflow.stacks.prereqs import Prerequisite
from helixflow.stacks.secrets import SecretSource
from helixflow.stacks.targets.base import Program
from helixflow.stacks.targets.cloud import CloudTarget


class AwsTarget(CloudTarget[AwsStack]):
    name = "aws"
    description = "EKS with GPU node groups, RDS PostgreSQL, ElastiCache Redis, S3"
    config_model = AwsStack
    cluster_kind = "eks"
    unprotect_hint = "apply it (RDS leaves a final snapshot)"

    def settings(self, config: AwsStack) -> AwsSettings:
        return config.aws

    def checks(self, pulumi_home: Path) -> list[Prerequisite]:
        from helixflow.stacks.targets.aws_preflight import aws_checks

        return aws_checks(pulumi_home)

    def access(self) -> Any:
        from helixflow.stacks.targets.aws_preflight import find_credentials
        from helixflow.stacks.targets.aws_program import AwsAccess

        return AwsAccess(credentials=find_credentials() or "", profile=os.environ.get("AWS_PROFILE"))

    def build_program(self, config: AwsStack, secrets: SecretSource, host: Any) -> Program:
        from helixflow.stacks.targets.aws_program import build_aws_program

        return build_aws_program(config, secrets, host)

    def protected_stores(self, config: AwsStack, stack: str) -> list[str]:
        from helixflow.stacks.targets.aws_program import protected_stores

        return protected_stores(config, stack)
