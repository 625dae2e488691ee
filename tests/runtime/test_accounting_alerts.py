"""The accounting alerts watch metrics the runtime really exports (a renamed metric would silence them)."""

from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from helixflow.components.alert_rules import ALERT_GROUPS
from helixflow.runtime.gateway.metrics import GatewayMetrics
from helixflow.runtime.monitoring.exporter import PlatformExporter

pytestmark = pytest.mark.unit


def _rule(name: str) -> dict[str, str]:
    return next(r for g in ALERT_GROUPS for r in g["rules"] if r.get("alert") == name)


def _exposed() -> str:
    registry = CollectorRegistry()
    GatewayMetrics(registry)
    exporter = PlatformExporter(None, None, None, "")  # type: ignore[arg-type]
    exporter.snapshot.dead_letters = 3
    registry.register(exporter)
    return generate_latest(registry).decode()


@pytest.mark.parametrize("alert", ["UsageDeadLetters", "QuotaFailOpen"])
def test_the_alert_watches_an_exported_metric(alert: str) -> None:
    metric = re.search(r"\((helixflow_\w+)\)", _rule(alert)["expr"])
    assert metric is not None
    assert re.search(rf"^{metric.group(1)} ", _exposed(), re.MULTILINE), f"{alert} watches nothing"


def test_the_dead_letter_gauge_is_the_stream_length() -> None:
    assert "helixflow_usage_dead_letters 3.0" in _exposed()
