"""Levels per stack, the error a mandatory violation raises, and the `policy:` settings on every stack."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helixflow.stacks.config import parse_config
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy import PolicySettings, enforce, evaluate
from tests.policy.cases import deployment

LATEST = [deployment(image="redis:latest")]


def test_a_mandatory_violation_stops_the_run_naming_resource_rule_and_fix() -> None:
    report = evaluate(LATEST, PolicySettings())
    assert not report.passed
    with pytest.raises(HelixFlowError) as raised:
        enforce(report)
    assert "no-latest-images" in raised.value.message and "'gateway'" in raised.value.message
    assert "pin the image" in raised.value.message and "policy.advisory" in (raised.value.hint or "")


def test_an_advisory_rule_warns_and_passes() -> None:
    report = evaluate(LATEST, PolicySettings(advisory=["no-latest-images", "required-tags"]))
    assert report.passed and {v.rule for v in report.advisory} == {"no-latest-images", "required-tags"}
    enforce(report)


def test_a_disabled_rule_does_not_run() -> None:
    report = evaluate(LATEST, PolicySettings(disabled=["no-latest-images", "required-tags"]))
    assert report.rules["no-latest-images"] == "disabled" and report.violations == []


def test_required_tags_are_advisory_by_default() -> None:
    report = evaluate([PlannedResource("aws:s3/bucket:Bucket", "b", properties={"forceDestroy": False})])
    assert [v.rule for v in report.advisory] == ["required-tags"] and report.passed


def test_an_unknown_rule_name_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ValidationError, match="did you mean 'no-latest-images'"):
        PolicySettings(advisory=["no-latest-image"])


def test_every_stack_has_policy_settings_with_defaults() -> None:
    config = parse_config({"target": "aws", "policy": {"advisory": [], "max_nodes_per_pool": 8}})
    assert config.policy.advisory == [] and config.policy.max_nodes_per_pool == 8
    assert parse_config({}).policy == PolicySettings()


def test_the_json_section_lists_levels_and_violations() -> None:
    data = evaluate(LATEST).to_json()
    assert data["passed"] is False and data["rules"]["required-tags"] == "advisory"
    assert data["violations"][0]["resource"] == "gateway"


def test_the_table_lists_mandatory_violations_first() -> None:
    from rich.console import Console

    from helixflow.stacks.policy.render import render_policy

    console = Console(width=220, record=True, color_system=None)
    console.print(render_policy(evaluate(LATEST)))
    text = console.export_text()
    assert "Policy: 1 mandatory violation, 1 advisory" in text
    assert text.index("no-latest-images") < text.index("required-tags")
