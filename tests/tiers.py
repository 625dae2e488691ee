"""Test tiers, one per test: `unit` (no services, no Pulumi engine, no network beyond in-process
fakes), `services` (real PostgreSQL, Redis, sglang-router, CPU engines), `e2e` (the real Pulumi
engine). A module's own tier mark wins over its folder's; every test gets exactly one.

A unit test that starts a service fails loudly: the launchers in tests/support call
`require_services` first.
"""

from __future__ import annotations

import os

import pytest

TIERS = ("unit", "services", "e2e")
TIER_ENV = "HELIXFLOW_TEST_TIER"
# the tier of every test in a folder under tests/, unless its module says otherwise
FOLDER_TIERS = {
    "cli": "unit",
    "components": "services",
    "stacks": "unit",
    "gcp": "unit",  # the GCP components and target under mocks, the gcp: configuration, the preflight
    "validate": "unit",
    "pool": "services",
    "runtime": "services",
    "e2e": "e2e",
    "k8s": "unit",  # the Kubernetes layer under mocks; the simulated-cluster module marks itself e2e
    "pulumi_cli": "e2e",
    "aws": "unit",  # the AWS components and target under mocks, the aws: configuration, the preflight
    "plan": "unit",  # `helixflow plan` under mocks, and the example's reviewed snapshot
    "cost": "unit",  # price rules over hand-built plans
    "policy": "unit",  # policy rules over hand-built plans, and the pulumi-policy pack
    "tenants": "unit",  # naming, the YAML model, planning, manifests; the local-stack module marks itself e2e
    "backup": "unit",  # the archive's rules; the modules against PostgreSQL and a stack mark themselves
    "init": "unit",
    "docs": "unit",
}


def tier_of(item: pytest.Item) -> str:
    marked = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
    if len(marked) > 1:
        raise pytest.UsageError(f"{item.nodeid} is marked with more than one tier: {', '.join(marked)}")
    if marked:
        return marked[0]
    parts = item.path.relative_to(item.config.rootpath).parts
    folder = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
    if folder not in FOLDER_TIERS:
        raise pytest.UsageError(f"{item.nodeid} has no tier: mark its module, or add tests/{folder} to FOLDER_TIERS")
    return FOLDER_TIERS[folder]


def require_services(what: str) -> None:
    """Called by every launcher of a real service; a unit test reaching one fails with what to do."""
    if os.environ.get(TIER_ENV) == "unit":
        pytest.fail(f"a test marked `unit` started {what}: mark its module `services` (or `e2e`)", pytrace=False)
