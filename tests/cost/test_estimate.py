"""The estimate of a small stack equals the same stack priced by hand."""

from __future__ import annotations

import pytest

from helixflow.stacks.cost import estimate, load_prices
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.plan.model import PlannedResource
from tests.cost.stacks import aws_stack, price_table

# (low, high) per month, worked out by hand from tests/cost/stacks.price_table (730 h a month)
BY_HAND = {
    "cluster": (73.00, 73.00),  # 0.10 x 730
    "system": (154.00, 231.00),  # (0.10 x 730 + 50 GB x 0.08) x 2..3
    "gpu": (0.00, 5846.40),  # (2.0 spot x 730 + the EKS default 20 GB x 0.08) x 0..4
    "db": (390.00, 410.00),  # 2 x 0.25 x 730 + 2 x 100..200 GB x 0.10 + 50 GB backups x 0.10
    "cache": (292.00, 292.00),  # 2 x 0.20 x 730
    "nat": (86.50, 86.50),  # 0.05 x 730 + 1000 GB x 0.05
    "nat-ip": (3.65, 3.65),  # 0.005 x 730
    "models": (10.00, 10.00),  # 500 GB x 0.02
    "logs": (10.60, 10.60),  # 20 GB x 0.5 + 20 GB x 1 month x 0.03
    "ingress": (24.60, 24.60),  # 0.02 x 730 + 1000 GB x 0.01
    "vpc": (0.00, 0.00),
    "aws": (0.00, 0.00),
}


def test_a_small_stack_priced_by_hand_equals_the_estimate() -> None:
    report = estimate(aws_stack(), price_table(), region="us-east-1")
    assert {line.resource: (line.low, line.high) for line in report.lines} == BY_HAND
    assert (report.low, report.high) == (1044.35, 6987.75)
    assert report.unpriced == []
    assert {line.resource: line.category for line in report.lines if line.status == "priced"}["gpu"] == "gpu nodes"


def test_the_region_comes_from_the_provider_when_not_given() -> None:
    assert estimate(aws_stack(), price_table()).region == "us-east-1"


def test_a_region_without_prices_is_refused_naming_it() -> None:
    with pytest.raises(HelixFlowError, match="no prices for region 'ap-south-1'"):
        estimate(aws_stack(), price_table(), region="ap-south-1")


def test_a_missing_price_is_an_unpriced_line_never_a_silent_zero() -> None:
    plan = [PlannedResource("aws:eks/nodeGroup:NodeGroup", "odd", properties={
        "instanceTypes": ["x9.huge"], "scalingConfig": {"minSize": 1.0, "maxSize": 2.0}})]  # fmt: skip
    report = estimate(plan, price_table(), region="us-east-1")
    (line,) = report.unpriced
    assert line.resource == "odd" and "machines.x9.huge" in line.note and "price file" in line.note


def test_a_type_without_a_rule_is_unpriced() -> None:
    report = estimate([PlannedResource("aws:ec2/instance:Instance", "vm")], price_table(), region="us-east-1")
    assert [line.status for line in report.lines] == ["unpriced"]


def test_components_get_no_line() -> None:
    report = estimate(aws_stack(), price_table(), region="us-east-1")
    assert "hf" not in {line.resource for line in report.lines}


def test_the_shipped_aws_table_prices_the_whole_stack() -> None:
    report = estimate(aws_stack(), load_prices("aws"), region="us-east-1")
    assert report.unpriced == [] and report.high > report.low > 0
    assert report.prices_date and report.prices_source
