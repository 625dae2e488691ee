"""Every stack configuration HelixFlow ships plans offline and passes every mandatory policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from helixflow.stacks.driver import load_config_file, stack_of_config_file
from helixflow.stacks.plan import plan_resources
from helixflow.stacks.policy.evaluate import enforce, evaluate

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(str(p.relative_to(REPO)) for p in (REPO / "examples").rglob("Pulumi.*.yaml"))


def test_the_examples_cover_every_cloud_layout() -> None:
    assert {"examples/aws-gpu/Pulumi.gpu-prod.yaml", "examples/gcp-gpu/Pulumi.gpu-prod.yaml",
            "examples/multi-cloud/Pulumi.us-aws.yaml", "examples/multi-cloud/Pulumi.eu-gcp.yaml"} <= set(SHIPPED)


@pytest.mark.parametrize("shipped", SHIPPED)
def test_a_shipped_stack_plans_and_passes_every_mandatory_rule(shipped: str) -> None:
    path = REPO / shipped
    config = load_config_file(path)
    resources = plan_resources(config, stack=stack_of_config_file(path))
    assert sum(not r.component for r in resources) > 5
    enforce(evaluate(resources, config.policy))  # raises naming the resource, rule and fix
