"""The `aws` target: VPC, EKS with GPU node groups, RDS, ElastiCache and S3, then the Kubernetes layer."""

from __future__ import annotations

from helixflow.stacks.config import AwsStack
from helixflow.stacks.targets.planned import PlannedTarget


class AwsTarget(PlannedTarget):
    name = "aws"
    description = "EKS with GPU node groups, RDS PostgreSQL, ElastiCache Redis, S3"
    config_model = AwsStack
    reason = "the AWS program is not part of this release yet"
