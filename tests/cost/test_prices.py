"""The shipped price tables and the user's override file."""

from __future__ import annotations

from pathlib import Path

import pytest

from helixflow.stacks.cost import estimate, load_prices
from helixflow.stacks.errors import HelixFlowError
from tests.cost.stacks import aws_stack


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_each_shipped_table_says_its_source_and_date(cloud: str) -> None:
    table = load_prices(cloud)
    assert table.cloud == cloud and table.source and table.date and table.regions


def test_an_override_changes_only_what_it_names(tmp_path: Path) -> None:
    override = tmp_path / "negotiated.yaml"
    override.write_text("cloud: aws\nregions:\n  us-east-1:\n    machines:\n"
                        "      g6.12xlarge: {on_demand: 3.0, spot: 1.0}\n")
    table = load_prices("aws", override)
    assert table.regions["us-east-1"].machines["g6.12xlarge"].spot == 1.0
    assert table.regions["us-east-1"].machines["m6i.large"] == load_prices("aws").regions["us-east-1"].machines[
        "m6i.large"]  # fmt: skip
    gpu = next(line for line in estimate(aws_stack(), table, "us-east-1").lines if line.resource == "gpu")
    assert gpu.high == round(4 * (1.0 * 730 + 20 * 0.08), 2)


def test_an_override_may_add_a_region(tmp_path: Path) -> None:
    override = tmp_path / "prices.yaml"
    override.write_text("regions:\n  ap-south-1:\n    rates: {cluster_hour: 0.1}\n")
    assert "ap-south-1" in load_prices("aws", override).regions


@pytest.mark.parametrize(("text", "error"), [
    ("cloud: gcp\n", "prices cloud 'gcp'"),
    ("regions:\n  us-east-1:\n    machines:\n      m6i.large: {on_demand: -1}\n", "greater than or equal to 0"),
    ("regions:\n  us-east-1:\n    rate: {}\n", "regions.us-east-1.rate: Extra inputs"),
    ("[1, 2]\n", "is not a mapping"),
    ("regions: {\n", "not valid YAML"),
])  # fmt: skip
def test_a_bad_override_is_refused_naming_what_is_wrong(tmp_path: Path, text: str, error: str) -> None:
    override = tmp_path / "prices.yaml"
    override.write_text(text)
    with pytest.raises(HelixFlowError, match=error):
        load_prices("aws", override)


def test_a_missing_file_and_an_unknown_cloud_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HelixFlowError, match="cannot read price file"):
        load_prices("aws", tmp_path / "nope.yaml")
    with pytest.raises(HelixFlowError, match="no price table for cloud 'azure'"):
        load_prices("azure")


def test_a_stack_is_priced_in_its_configured_region() -> None:
    from helixflow.stacks.config import parse_config
    from helixflow.stacks.cost import estimate_stack

    report = estimate_stack(aws_stack(), parse_config({"target": "aws", "aws": {"region": "eu-west-1"}}))
    assert report.region == "eu-west-1" and report.cloud == "aws"
    with pytest.raises(HelixFlowError, match="a local stack has no cloud bill"):
        estimate_stack(aws_stack(), parse_config({}))
