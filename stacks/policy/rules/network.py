"""Every namespace the stack creates has a default-deny NetworkPolicy for ingress and egress (a stack rule)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.rules.model import Finding, Rule, dig
from helixflow.stacks.policy.settings import PolicySettings

NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _denied_directions(policy: PlannedResource) -> set[str]:
    """What a policy denies by default: it selects every pod and allows nothing in that direction."""
    spec = policy.properties.get("spec") or {}
    if spec.get("podSelector") not in ({}, None) and dig(spec, "podSelector", "matchLabels") not in ({}, None):
        return set()
    if dig(spec, "podSelector", "matchExpressions"):
        return set()
    denied = set()
    for direction, rules in (("Ingress", "ingress"), ("Egress", "egress")):
        if direction in (spec.get("policyTypes") or []) and not spec.get(rules):
            denied.add(direction)
    return denied


def check_default_deny(resources: Sequence[PlannedResource], settings: PolicySettings) -> Iterator[Finding]:
    denied: dict[str, set[str]] = {}
    for policy in (r for r in resources if r.type == NETWORK_POLICY):
        namespace = str(dig(policy.properties, "metadata", "namespace") or "default")
        denied.setdefault(namespace, set()).update(_denied_directions(policy))
    for created in (r for r in resources if r.type == NAMESPACE):
        name = str(dig(created.properties, "metadata", "name") or created.name)
        missing = {"Ingress", "Egress"} - denied.get(name, set())
        if missing:
            yield Finding(f"namespace {name!r} has no default-deny NetworkPolicy for {', '.join(sorted(missing))}",
                          "add a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules, "
                          "then allow the flows it needs", created)  # fmt: skip


DEFAULT_DENY = Rule("default-deny-network-policies", "Every namespace of the stack has a default-deny NetworkPolicy "
                    "for ingress and egress.", stack_check=check_default_deny)
