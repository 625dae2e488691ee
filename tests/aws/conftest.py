"""Plans of AWS stacks under mocks, shared by the component tests (one plan per configuration)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import yaml

from helixflow.stacks.config import parse_config
from helixflow.stacks.plan import PlannedResource, plan_resources

EXAMPLE = "examples/aws-gpu/Pulumi.gpu-prod.yaml"


@cache
def _plan(settings: str) -> tuple[PlannedResource, ...]:
    return tuple(plan_resources(parse_config({"target": "aws", "aws": yaml.safe_load(settings)}), stack="unit"))


class Plan:
    """The resources of one plan, with the lookups the tests need."""

    def __init__(self, resources: tuple[PlannedResource, ...]) -> None:
        self.resources = list(resources)

    def of(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> PlannedResource:
        found = self.of(type_)
        assert len(found) == 1, f"{len(found)} resources of {type_}"
        return found[0]

    def props(self, type_: str) -> list[dict[str, Any]]:
        return [r.properties for r in self.of(type_)]

    def named(self, name: str, type_: str) -> PlannedResource:
        return next(r for r in self.resources if r.name == name and r.type == type_)


@pytest.fixture
def plan() -> Callable[..., Plan]:
    """plan(**aws_settings) -> the plan of an aws stack with those settings (cached per settings)."""

    def make(**settings: Any) -> Plan:
        return Plan(_plan(yaml.safe_dump(settings, sort_keys=True)))

    return make


@pytest.fixture(scope="session")
def example() -> Plan:
    from pathlib import Path

    from helixflow.stacks.driver import load_config_file

    config = load_config_file(Path(__file__).resolve().parents[2] / EXAMPLE)
    return Plan(tuple(plan_resources(config, stack="gpu-prod")))
