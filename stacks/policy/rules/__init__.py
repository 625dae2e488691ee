"""HelixFlow's policy rules: one registry both the in-process evaluator and the pulumi-policy pack read."""

from __future__ import annotations

from helixflow.stacks.policy.rules.data_stores import DELETION_SAFETY, ENCRYPTION
from helixflow.stacks.policy.rules.exposure import NO_PUBLIC_ENDPOINTS
from helixflow.stacks.policy.rules.model import Finding, Rule
from helixflow.stacks.policy.rules.network import DEFAULT_DENY
from helixflow.stacks.policy.rules.nodes import GPU_NODES_TAINTED, NODE_POOL_SIZE_LIMITS
from helixflow.stacks.policy.rules.tags import REQUIRED_TAGS
from helixflow.stacks.policy.rules.workloads import NO_LATEST_IMAGES, WORKLOAD_RESOURCES, WORKLOAD_SECURITY_CONTEXT
from helixflow.stacks.policy.settings import RULE_NAMES

RULES: tuple[Rule, ...] = (
    ENCRYPTION, NO_PUBLIC_ENDPOINTS, DELETION_SAFETY, GPU_NODES_TAINTED, REQUIRED_TAGS, NODE_POOL_SIZE_LIMITS,
    NO_LATEST_IMAGES, WORKLOAD_RESOURCES, WORKLOAD_SECURITY_CONTEXT, DEFAULT_DENY,
)  # fmt: skip
if tuple(rule.name for rule in RULES) != RULE_NAMES:  # settings validate names against RULE_NAMES
    raise RuntimeError("stacks/policy/settings.py RULE_NAMES is out of step with the rules")

__all__ = ["RULES", "Finding", "Rule"]
