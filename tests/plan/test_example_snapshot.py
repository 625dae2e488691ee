"""Every cloud example stack's whole resource graph, planned, against its reviewed snapshot.

A change to a component or to the example changes the plan: review the diff, then regenerate with

    HELIXFLOW_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/plan/test_example_snapshot.py

and commit the snapshot with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helixflow.stacks.driver import load_config_file, stack_of_config_file
from helixflow.stacks.plan import plan_resources
from helixflow.stacks.plan.render import plan_json

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"
CLOUD_TARGETS = ("aws", "gcp")


def snapshot_of(stack_file: Path) -> Path:
    """examples/aws-gpu/Pulumi.gpu-prod.yaml -> snapshots/aws-gpu-gpu-prod.json"""
    return SNAPSHOTS / f"{stack_file.parent.name}-{stack_of_config_file(stack_file)}.json"


# every cloud stack shipped in examples/ (local and kubernetes ones have no cloud graph to review)
EXAMPLES = {f"{p.parent.name}/{p.name}": p for p in sorted((REPO / "examples").rglob("Pulumi.*.yaml"))
            if load_config_file(p).target in CLOUD_TARGETS}  # fmt: skip
EXAMPLE = REPO / "examples" / "aws-gpu" / "Pulumi.gpu-prod.yaml"


def test_every_cloud_example_is_snapshotted() -> None:
    assert {"aws-gpu/Pulumi.gpu-prod.yaml", "gcp-gpu/Pulumi.gpu-prod.yaml", "multi-cloud/Pulumi.us-aws.yaml",
            "multi-cloud/Pulumi.eu-gcp.yaml"} <= set(EXAMPLES)  # fmt: skip
    stale = {p.name for p in SNAPSHOTS.glob("*.json")} - {snapshot_of(p).name for p in EXAMPLES.values()}
    assert not stale, f"snapshots of examples that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_example_plans_exactly_as_reviewed(example: str) -> None:
    stack_file = EXAMPLES[example]
    snapshot = snapshot_of(stack_file)
    planned = json.dumps(plan_json(plan_resources(load_config_file(stack_file),
                                                  stack=stack_of_config_file(stack_file))), indent=1,
                         sort_keys=True) + "\n"  # fmt: skip
    if os.environ.get("HELIXFLOW_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(planned)
    reviewed = snapshot.read_text()
    assert json.loads(planned) == json.loads(reviewed), (
        "the plan differs from the reviewed snapshot: review the change, then regenerate it (see this module)")
    assert len(json.loads(reviewed)) > 60


def test_the_snapshot_comparison_can_fail() -> None:
    """A changed setting gives another graph: the comparison above is not vacuous."""
    reviewed = json.loads(snapshot_of(EXAMPLE).read_text())
    config = load_config_file(EXAMPLE)
    changed = config.model_copy(update={"aws": config.aws.model_copy(update={"deletion_protection": False})})
    assert plan_json(plan_resources(changed, stack="gpu-prod")) != reviewed
