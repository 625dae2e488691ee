"""The pulumi-policy pack and the in-process evaluator run the same rule code and report the same violations."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy import PolicySettings, evaluate
from helixflow.stacks.policy.pulumi_pack import policies, resource_validator
from helixflow.stacks.policy.rules import RULES, Finding, Rule
from helixflow.stacks.policy.settings import RULE_NAMES
from tests.policy.cases import CASES

PACK = Path(__file__).resolve().parents[2] / "stacks" / "policy" / "pack"
OPTS = PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                             custom_timeouts=None, additional_secret_outputs=[], parent=None)  # type: ignore[arg-type]


def _pack_messages(plan: list[PlannedResource], rule: str) -> list[str]:
    """Run one rule the way the Pulumi engine would: through the pack's Policy objects."""
    (policy,) = [p for p in policies() if p.name == rule]
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    if isinstance(policy, StackValidationPolicy):
        resources = [PolicyResource(r.type, r.properties, f"urn:{r.name}", r.name, OPTS, None, None, [], {})
                     for r in plan]  # fmt: skip
        policy.validate(StackValidationArgs(resources), report)
    else:
        assert isinstance(policy, ResourceValidationPolicy)
        for r in plan:
            policy.validate(ResourceValidationArgs(r.type, r.properties, f"urn:{r.name}", r.name, OPTS, None), report)
    return reported


VIOLATING = [(rule, plan) for rule, (_, bad) in CASES.items() for plan in bad]


@pytest.mark.parametrize(("rule", "plan"), VIOLATING, ids=[f"{r}-{i}" for i, (r, _) in enumerate(VIOLATING)])
def test_the_pack_reports_what_the_evaluator_reports(rule: str, plan: list[PlannedResource]) -> None:
    evaluated = [f"{v.message} (fix: {v.fix})" for v in evaluate(plan, PolicySettings(advisory=[])).violations
                 if v.rule == rule]  # fmt: skip
    assert evaluated and _pack_messages(plan, rule) == evaluated


def test_the_pack_calls_the_rules_own_check() -> None:
    calls: list[str] = []

    def check(resource: PlannedResource, settings: PolicySettings) -> list[Finding]:
        calls.append(resource.name)
        return [Finding("bad", "fix it")]

    rule = Rule("spy", "a rule that records its calls", resource_check=check)
    reported: list[str] = []
    args = ResourceValidationArgs("aws:s3/bucket:Bucket", {}, "urn:b", "b", OPTS, None)
    resource_validator(rule, PolicySettings())(args, lambda message, urn=None: reported.append(message))
    rule.findings([PlannedResource("aws:s3/bucket:Bucket", "b")], PolicySettings())
    assert calls == ["b", "b"] and reported == ["bad (fix: fix it)"]


def test_the_pack_entry_point_serves_every_rule_at_its_default_level(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}

    def fake_pack(**kwargs: Any) -> None:  # the real one starts a gRPC server and blocks
        served.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", fake_pack)
    runpy.run_path(str(PACK / "__main__.py"), run_name="__main__")
    assert served["name"] == "helixflow"
    assert [p.name for p in served["policies"]] == list(RULE_NAMES) == [rule.name for rule in RULES]
    levels = {p.name: p.enforcement_level for p in served["policies"]}
    assert levels["required-tags"] == EnforcementLevel.ADVISORY
    assert levels["no-latest-images"] == EnforcementLevel.MANDATORY
    assert (PACK / "PulumiPolicy.yaml").read_text().count("runtime") == 1
