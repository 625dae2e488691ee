"""What every AWS component shares: child options, KMS keys, IAM policy documents."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws


def child(parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] | None = None,
          **options: Any) -> pulumi.ResourceOptions:  # fmt: skip
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on or []), **options)


def kms_key(name: str, purpose: str, parent: pulumi.Resource) -> aws.kms.Key:
    """A customer-managed key with yearly rotation and the longest deletion window (a mistake is recoverable)."""
    key = aws.kms.Key(name, description=f"helixflow: {purpose}", enable_key_rotation=True,
                      deletion_window_in_days=30, opts=child(parent))  # fmt: skip
    aws.kms.Alias(f"{name}-alias", name=f"alias/{name}", target_key_id=key.key_id, opts=child(parent))
    return key


def document(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def output_document(*statements: Mapping[str, Any]) -> pulumi.Output[str]:
    """A policy document whose statements hold Outputs (ARNs known after creation)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    """Who may assume a role: one AWS service."""
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)})


def service_role(name: str, service: str, managed_policies: Sequence[str], parent: pulumi.Resource) -> aws.iam.Role:
    role = aws.iam.Role(name, assume_role_policy=trust(service), opts=child(parent))
    for arn in managed_policies:
        short = arn.rsplit("/", 1)[-1]
        aws.iam.RolePolicyAttachment(f"{name}-{short}", role=role.name, policy_arn=arn, opts=child(parent))
    return role
