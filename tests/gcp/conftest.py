"""Plans of GCP stacks under the test-side mocks (one plan per configuration)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import yaml

from helixflow.stacks.config import GcpStack, parse_config
from helixflow.stacks.secrets import StackSecrets
from helixflow.stacks.targets.gcp_program import GcpAccess, build_gcp_program
from tests.gcp.mocks import Recorded, run_program

PROJECT = "acme-inference"
SECRETS = StackSecrets(postgres_password="pg-secret", postgres_runtime_password="app-secret",
                       redis_password="redis-secret", secret_key="key",
                       router_api_key="router")  # fmt: skip


class Plan:
    def __init__(self, resources: dict[tuple[str, str], Recorded]) -> None:
        self.resources = list(resources.values())

    def of(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Recorded:
        found = self.of(type_)
        assert len(found) == 1, f"{len(found)} resources of {type_}"
        return found[0]

    def named(self, name: str, type_: str) -> Recorded:
        return next(r for r in self.resources if r.name == name and r.type == type_)

    def children(self, parent: str) -> list[Recorded]:
        return [r for r in self.resources if r.parent == parent]


def config_of(**settings: Any) -> GcpStack:
    config = parse_config({"target": "gcp", "gcp": {"project": PROJECT, **settings}})
    assert isinstance(config, GcpStack)
    return config


@cache
def _plan(settings: str) -> Plan:
    program = build_gcp_program(config_of(**yaml.safe_load(settings)), lambda: SECRETS, GcpAccess(credentials="x"))
    return Plan(run_program(program).resources)


@pytest.fixture
def plan() -> Callable[..., Plan]:
    """plan(**gcp_settings) -> the resources of a gcp stack with those settings (cached per settings)."""

    def make(**settings: Any) -> Plan:
        return _plan(yaml.safe_dump(settings, sort_keys=True))

    return make
