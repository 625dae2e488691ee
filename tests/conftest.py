"""Every test gets one tier marker (see tests/tiers.py); unit tests run with no service and no engine."""

from __future__ import annotations

import os
import tempfile

import pytest

from tests.tiers import TIER_ENV, tier_of

# Set for each unit test before any of its fixtures (module-scoped ones included) is set up.
_UNIT_ENV = {TIER_ENV: "unit", "HELIXFLOW_PULUMI_ROOT": os.path.join(tempfile.gettempdir(), "no-pulumi-in-unit-tests")}
_saved: dict[str, str | None] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(getattr(pytest.mark, tier))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A unit test sees no Pulumi engine (a CLI it runs cannot reach one) and tells the launchers its tier."""
    if item.get_closest_marker("unit"):
        for key, value in _UNIT_ENV.items():
            _saved.setdefault(key, os.environ.get(key))
            os.environ[key] = value


def pytest_runtest_teardown(item: pytest.Item) -> None:
    for key, value in _saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _saved.clear()
