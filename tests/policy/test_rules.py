"""Every rule both ways: each compliant plan passes it, each violating plan breaks it, naming resource and fix."""

from __future__ import annotations

import pytest

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy import PolicySettings, evaluate
from helixflow.stacks.policy.rules import RULES
from helixflow.stacks.policy.settings import RULE_NAMES
from tests.policy.cases import CASES

BY_NAME = {rule.name: rule for rule in RULES}


def _ids(kind: str) -> list[str]:
    return [f"{rule}-{kind}-{i}" for rule, plans in CASES.items() for i, _ in enumerate(plans[kind == "bad"])]


COMPLIANT = [(rule, plan) for rule, (good, _) in CASES.items() for plan in good]
VIOLATING = [(rule, plan) for rule, (_, bad) in CASES.items() for plan in bad]


def test_every_rule_has_cases_both_ways() -> None:
    assert set(CASES) == set(RULE_NAMES)
    assert all(good and bad for good, bad in CASES.values())


@pytest.mark.parametrize(("rule", "plan"), COMPLIANT, ids=_ids("good"))
def test_a_compliant_plan_passes(rule: str, plan: list[PlannedResource]) -> None:
    assert BY_NAME[rule].findings(plan, PolicySettings()) == []


@pytest.mark.parametrize(("rule", "plan"), VIOLATING, ids=_ids("bad"))
def test_a_violating_plan_is_reported_with_resource_and_fix(rule: str, plan: list[PlannedResource]) -> None:
    findings = BY_NAME[rule].findings(plan, PolicySettings())
    assert findings
    names = {resource.name for resource in plan}
    assert all(f.resource is not None and f.resource.name in names and f.fix and f.message for f in findings)
    report = evaluate(plan, PolicySettings(advisory=[]))
    assert {v.rule for v in report.mandatory} >= {rule}
