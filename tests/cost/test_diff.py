"""`--diff`: what changes against a saved plan and the cost delta; `--fail-over`: exit 5 past the allowed growth."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from helixflow.stacks.cost import (
    FAIL_OVER_EXIT,
    diff,
    estimate,
    fail_over_exit_code,
    render_diff,
    render_diff_json,
    render_report,
    render_report_json,
)
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.plan.model import PlannedResource
from tests.cost.stacks import aws_stack, price_table


def _grown() -> list[PlannedResource]:
    """The stack with a bigger GPU pool and no log group."""
    plan = [r for r in aws_stack() if r.name != "logs"]
    gpu = next(r for r in plan if r.name == "gpu")
    bigger = PlannedResource(gpu.type, gpu.name, gpu.parent, gpu.properties | {"scalingConfig": {"minSize": 0.0,
                                                                                                "maxSize": 8.0}})
    return [bigger if r is gpu else r for r in plan]


def test_the_diff_names_each_change_and_the_delta() -> None:
    old = estimate(aws_stack(), price_table(), "us-east-1")
    saved = json.loads(json.dumps({"cost": old.to_json()}))  # as `plan --json` wrote it
    change = diff(saved, estimate(_grown(), price_table(), "us-east-1"))
    by_name = {c.resource: c for c in change.changes}
    assert set(by_name) == {"gpu", "logs"}
    assert by_name["gpu"].change == "changed" and by_name["gpu"].delta == 5846.40  # 4 more nodes at 1461.60
    assert by_name["logs"].change == "removed" and by_name["logs"].delta == -10.60
    assert change.delta_high == round(5846.40 - 10.60, 2) and change.delta_low == -10.60
    assert change.growth_percent() == round(100 * (5846.40 - 10.60) / 6987.75, 2)


def test_fail_over_exits_5_only_past_the_allowed_growth() -> None:
    old = estimate(aws_stack(), price_table(), "us-east-1")
    change = diff(old, estimate(_grown(), price_table(), "us-east-1"))  # about +83.5%
    assert fail_over_exit_code(change, 80) == FAIL_OVER_EXIT == 5
    assert fail_over_exit_code(change, 90) == 0
    assert fail_over_exit_code(change, None) == 0
    assert fail_over_exit_code(diff(old, old), 0) == 0  # no growth passes even a 0% gate
    with pytest.raises(HelixFlowError, match="negative"):
        fail_over_exit_code(change, -1)


def test_a_file_without_a_cost_section_is_refused() -> None:
    with pytest.raises(HelixFlowError, match="no readable cost section"):
        diff({"resources": []}, estimate(aws_stack(), price_table(), "us-east-1"))


def test_the_renderings_carry_the_figures() -> None:
    report = estimate(aws_stack(), price_table(), "us-east-1")
    console = Console(width=200, record=True, color_system=None)
    console.print(render_report(report))
    text = console.export_text()
    assert "$1,044.35 - $6,987.75" in text and "$0.00 - $5,846.40" in text and "2 resources" in text
    assert json.loads(render_report_json(report))["total_per_month"] == {"low": 1044.35, "high": 6987.75}
    change = diff(report, estimate(_grown(), price_table(), "us-east-1"))
    console.print(render_diff(change))
    assert "+$5,846.40" in console.export_text()
    assert json.loads(render_diff_json(change))["delta_per_month"]["high"] == change.delta_high
