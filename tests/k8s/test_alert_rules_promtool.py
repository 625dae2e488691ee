"""`promtool test rules` over components/alert_rules_test.yaml: each alert of the one rule source (the local
Prometheus's file and the cluster's PrometheusRule) fires on the series meant to fire it and stays quiet on
the others, and no alert goes without both tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from helixflow.components import alert_rules
from tests.k8s.test_edge_monitoring import promtool

pytestmark = pytest.mark.unit
RULE_TESTS = Path(alert_rules.__file__).with_name("alert_rules_test.yaml")


def rule_tests() -> dict[str, Any]:
    tests: dict[str, Any] = yaml.safe_load(RULE_TESTS.read_text())
    return tests


def alert_cases(tests: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The alerts some test expects to fire, and those some test expects to stay quiet."""
    cases = [case for test in tests["tests"] for case in test.get("alert_rule_test", [])]
    return ({c["alertname"] for c in cases if c["exp_alerts"]}, {c["alertname"] for c in cases if not c["exp_alerts"]})


def promtool_test(tmp_path: Path, tests: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(alert_rules.rules_document(), sort_keys=False))
    path = tmp_path / "rules_test.yml"
    path.write_text(yaml.safe_dump({**tests, "rule_files": [str(rules)]}, sort_keys=False))
    return subprocess.run([promtool(), "test", "rules", str(path)], capture_output=True, text=True, check=False)


def test_every_alert_fires_on_its_series_and_stays_quiet_on_the_others(tmp_path: Path) -> None:
    checked = promtool_test(tmp_path, rule_tests())
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_has_a_firing_and_a_quiet_test() -> None:
    fired, quiet = alert_cases(rule_tests())
    names = set(alert_rules.ALERT_NAMES)
    assert not names - fired, f"alerts no promtool test fires (add them to {RULE_TESTS.name}): {names - fired}"
    assert not names - quiet, f"alerts no promtool test keeps quiet (add them to {RULE_TESTS.name}): {names - quiet}"
    assert fired | quiet <= names, f"tests of alerts alert_rules.py does not have: {(fired | quiet) - names}"


def test_promtool_fails_a_rule_that_no_longer_fires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests can fail: with HighErrorRate's threshold raised to 50%, 10% of 5xx no longer fires it."""
    groups = yaml.safe_load(yaml.safe_dump(alert_rules.ALERT_GROUPS))  # a deep copy
    rule = next(r for g in groups for r in g["rules"] if r["alert"] == "HighErrorRate")
    rule["expr"] = rule["expr"].replace("> 0.05", "> 0.5")
    monkeypatch.setattr(alert_rules, "ALERT_GROUPS", groups)
    checked = promtool_test(tmp_path, rule_tests())
    assert checked.returncode != 0 and "HighErrorRate" in checked.stdout + checked.stderr
