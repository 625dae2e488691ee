"""The `aws:` section: EKS with GPU node groups, RDS, ElastiCache and S3."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from helixflow.stacks.config.common import StackBase, Strict


class AwsSettings(Strict):
    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="the AWS region")


class AwsStack(StackBase):
    """A stack of target `aws`: its `aws:` section only."""

    target: Literal["aws"]
    aws: AwsSettings = AwsSettings()
