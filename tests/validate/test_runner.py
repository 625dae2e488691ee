"""The runner, the result model, selection and JUnit output: no stack needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import httpx
import pytest

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.validate import EXIT_CRITICAL_FAILED, EXIT_OK, EXIT_SUCCESS_RATE_LOW, Options, Status
from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.deployment import Deployment, deployment_from_url
from helixflow.stacks.validate.junit import junit_xml
from helixflow.stacks.validate.model import CheckFailed, CheckResult, CheckSkipped, Outcome, Report, passed
from helixflow.stacks.validate.registry import GROUPS, Check, all_checks, select
from helixflow.stacks.validate.runner import run_checks


def result(name: str, status: Status, critical: bool = False, group: str = "api") -> CheckResult:
    return CheckResult(name, group, critical, f"{name} works", Outcome(status, explanation="why"), 0.01)


def report(*results: CheckResult) -> Report:
    return Report(results=list(results), seconds=1.0, target="test")


def context(timeout: float = 30.0) -> Context:
    return Context(Deployment(endpoint="https://127.0.0.1:9", api_key="hf_abcdefgh_x"), Options(timeout=timeout))


def test_success_rate_counts_passed_over_ran_and_ignores_skipped() -> None:
    r = report(*(result(f"p{i}", Status.passed) for i in range(19)), result("f", Status.failed),
               result("s", Status.skipped))  # fmt: skip
    assert r.success_rate == pytest.approx(95.0)
    assert r.exit_code == EXIT_SUCCESS_RATE_LOW  # the seed asks for *above* 95%
    r = report(*(result(f"p{i}", Status.passed) for i in range(20)), result("f", Status.failed))
    assert r.success_rate == pytest.approx(100 * 20 / 21)
    assert r.exit_code == EXIT_OK and r.ok and r.verdict() == "PASSED"


def test_a_critical_failure_decides_the_exit_code_whatever_the_rate() -> None:
    r = report(*(result(f"p{i}", Status.passed) for i in range(99)), result("tls", Status.failed, critical=True))
    assert r.success_rate == pytest.approx(99.0)
    assert r.exit_code == EXIT_CRITICAL_FAILED
    assert "api/tls" in r.verdict()


def test_nothing_ran_is_not_a_pass() -> None:
    r = report(result("s", Status.skipped))
    assert r.success_rate is None
    assert r.exit_code == EXIT_SUCCESS_RATE_LOW
    assert r.summary()["verdict"] == "FAILED: no check ran"


def test_exit_codes_are_distinct_from_the_cli_errors() -> None:
    assert {EXIT_OK, EXIT_CRITICAL_FAILED, EXIT_SUCCESS_RATE_LOW}.isdisjoint({1, 2})


def test_runner_turns_raises_into_results_runs_last_checks_last_and_sorts_by_group() -> None:
    order: list[str] = []

    def make(name: str, outcome: Outcome | Exception) -> Check:
        def run(_: Context) -> Outcome:
            order.append(name)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        group = "security" if name == "echo" else "api"
        return Check(name, group, name == "boom", name, run, last=name == "echo")

    checks = [make("echo", passed("clean")), make("ok", passed("1 ms")), make("no", CheckFailed("broken", "7")),
              make("na", CheckSkipped("not here")), make("boom", RuntimeError("bug"))]  # fmt: skip
    r = run_checks(checks, context())
    assert order == ["ok", "no", "na", "boom", "echo"]
    by_name = {x.name: x for x in r.results}
    assert by_name["no"].status == Status.failed and by_name["no"].outcome.value == "7"
    assert by_name["na"].status == Status.skipped and by_name["na"].outcome.explanation == "not here"
    assert by_name["boom"].status == Status.failed and "RuntimeError: bug" in by_name["boom"].outcome.explanation
    assert [x.group for x in r.results] == sorted((x.group for x in r.results), key=GROUPS.index)
    assert r.exit_code == EXIT_CRITICAL_FAILED


def test_checks_after_the_time_bound_are_not_run_and_cleanups_still_run() -> None:
    """A normal check not run for time is skipped; a critical one fails the run (it cannot vouch for the stack)."""
    cleaned: list[str] = []

    def slow(ctx: Context) -> Outcome:
        ctx.on_cleanup("note", lambda: cleaned.append("done"))
        time.sleep(0.3)
        return passed()

    checks = [Check("slow", "api", False, "", slow), Check("later", "data", True, "", lambda _: passed()),
              Check("optional", "data", False, "", lambda _: passed())]  # fmt: skip
    r = run_checks(checks, context(timeout=0.2))
    assert [x.status for x in r.results] == [Status.passed, Status.failed, Status.skipped]
    assert "not run: the run's time bound" in r.results[1].outcome.explanation
    assert "time bound" in r.results[2].outcome.explanation
    assert r.exit_code == EXIT_CRITICAL_FAILED and r.verdict().startswith("FAILED")
    assert cleaned == ["done"]


def test_a_cleanup_that_fails_is_reported() -> None:
    def leaves_mess(ctx: Context) -> Outcome:
        ctx.on_cleanup("revoke key k1", lambda: (_ for _ in ()).throw(OSError("gone")))
        return passed()

    r = run_checks([Check("mess", "api", False, "", leaves_mess)], context())
    assert [x.name for x in r.results] == ["mess", "cleanup"]
    assert "revoke key k1: gone" in r.results[1].outcome.explanation


def test_select_by_name_and_group_and_unknown_names() -> None:
    checks = all_checks()
    names = [c.name for c in checks]
    assert len(names) == len(set(names)) and {c.group for c in checks} == set(GROUPS)
    assert [c.name for c in select(checks, ["tls-expiry"])] == ["tls-expiry"]
    assert {c.group for c in select(checks, groups=["quotas", "data"])} == {"quotas", "data"}
    both = select(checks, ["tls-expiry"], ["data"])
    assert {c.name for c in both} == {"tls-expiry"} | {c.name for c in checks if c.group == "data"}
    with pytest.raises(HelixFlowError) as err:
        select(checks, ["tls-expiri"])
    assert "tls-expiri" in err.value.message and "tls-expiry" in str(err.value.hint)
    with pytest.raises(HelixFlowError) as err:
        select(checks, groups=["speed"])
    assert "performance" in str(err.value.hint)


def test_every_group_has_a_critical_check_except_observability() -> None:
    critical = {c.group for c in all_checks() if c.critical}
    assert critical == set(GROUPS) - {"observability"}


def test_junit_is_well_formed_with_one_suite_per_group() -> None:
    r = report(result("models", Status.passed, True), result("chat", Status.failed, True),
               result("x<&>\"", Status.skipped, group="data"))  # fmt: skip
    root = ET.fromstring(junit_xml(r))
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "1"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"api", "data"}
    assert suites["api"].get("failures") == "1" and suites["data"].get("skipped") == "1"
    failure = suites["api"].find("testcase[@name='chat']/failure")
    assert failure is not None and failure.get("type") == "critical" and failure.get("message") == "why"
    assert suites["data"].find("testcase") is not None


def test_deployment_from_url_refuses_bad_input() -> None:
    with pytest.raises(HelixFlowError, match="http"):
        deployment_from_url("ftp://x", "k")
    with pytest.raises(HelixFlowError, match="--api-key"):
        deployment_from_url("https://example.test", "")
    with pytest.raises(HelixFlowError, match="does not exist"):
        deployment_from_url("https://example.test", "k", ca_file="/nonexistent/ca.pem")
    assert deployment_from_url("https://example.test", "k").http_url == "http://example.test"
    assert deployment_from_url("https://example.test:8443", "k").http_url is None


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "helixflow.cli.main", "validate", *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "HELIXFLOW_HOME": "/nonexistent"})


def test_cli_unknown_check_is_one_clear_line() -> None:
    proc = cli("--check", "nope", "--url", "https://127.0.0.1:9", "--api-key", "k")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: unknown check(s): nope (hint: one of: ") and "tls-chain" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_cli_list_json_and_usage_errors() -> None:
    proc = cli("--list", "--json", "--group", "quotas")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == [{"name": "rate-limit", "group": "quotas", "critical": True,
                                        "description": all_checks()[[c.name for c in all_checks()].index(
                                            "rate-limit")].description}]  # fmt: skip
    assert cli("--stack", "a", "--url", "https://x.test", "--api-key", "k").stderr.startswith(
        "error: --stack and --url exclude each other"
    )
    assert cli("--url", "https://x.test").stderr.startswith("error: --url needs --api-key")
    assert cli("--requests", "0").returncode == 2
    assert "does not exist" in cli().stderr  # the default stack in an empty home


def test_cli_json_and_junit_against_an_unreachable_endpoint(tmp_path: object) -> None:
    from pathlib import Path

    junit = Path(str(tmp_path)) / "out.xml"
    proc = cli("--url", "https://127.0.0.1:9", "--api-key", "hf_abcdefgh_k", "--group", "availability",
               "--json", "--junit", str(junit), "--timeout", "20")  # fmt: skip
    assert proc.returncode == EXIT_CRITICAL_FAILED, proc.stderr
    document = json.loads(proc.stdout)
    assert [c["name"] for c in document["checks"]] == ["endpoint-health", "endpoint-ready", "components"]
    assert [c["status"] for c in document["checks"]] == ["fail", "fail", "skipped"]
    assert "ConnectError" in document["checks"][0]["explanation"]
    assert document["summary"]["exit_code"] == EXIT_CRITICAL_FAILED and document["summary"]["success_rate"] == 0
    assert ET.parse(junit).getroot().get("failures") == "2"


def test_a_revoke_the_admin_api_refuses_is_reported_by_the_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = Context(Deployment(endpoint="https://127.0.0.1:9", api_key="hf_abcdefgh_x", admin_url="https://127.0.0.1:9"),
                  Options())
    monkeypatch.setattr(ctx, "admin_json", lambda *args, **kwargs: {"id": "k1", "api_key": "hf_k1_secret"})
    monkeypatch.setattr(ctx, "admin", lambda method, path, **kwargs: httpx.Response(500))
    ctx.new_key(name="throwaway")
    problems = ctx.close()
    assert problems == ["revoke key k1: DELETE /admin/keys/k1 answered 500"]
