"""The example stack's whole resource graph, planned, against the reviewed snapshot.

A change to a component or to the example changes the plan: review the diff, then regenerate with

    HELIXFLOW_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/plan/test_example_snapshot.py

and commit the snapshot with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helixflow.stacks.driver import load_config_file
from helixflow.stacks.plan import plan_resources
from helixflow.stacks.plan.render import plan_json

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "aws-gpu" / "Pulumi.gpu-prod.yaml"
SNAPSHOT = Path(__file__).parent / "snapshots" / "aws-gpu-prod.json"


def test_the_example_plans_exactly_as_reviewed() -> None:
    planned = json.dumps(plan_json(plan_resources(load_config_file(EXAMPLE), stack="gpu-prod")), indent=1,
                         sort_keys=True) + "\n"  # fmt: skip
    if os.environ.get("HELIXFLOW_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(planned)
    reviewed = SNAPSHOT.read_text()
    assert json.loads(planned) == json.loads(reviewed), (
        "the plan differs from the reviewed snapshot: review the change, then regenerate it (see this module)")
    assert len(json.loads(reviewed)) > 100


def test_the_snapshot_comparison_can_fail() -> None:
    """A changed setting gives another graph: the comparison above is not vacuous."""
    reviewed = json.loads(SNAPSHOT.read_text())
    config = load_config_file(EXAMPLE)
    changed = config.model_copy(update={"aws": config.aws.model_copy(update={"deletion_protection": False})})
    assert plan_json(plan_resources(changed, stack="gpu-prod")) != reviewed
