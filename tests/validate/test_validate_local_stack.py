"""`helixflow validate` against a real local stack: every check passes on a healthy stack, and the
important ones fail when their property is broken (a quota lowered, the key in use revoked,
Prometheus stopped, a worker stopped). An expired certificate and old TLS versions are shown
failing against tiny servers in test_checks_against_faulty_servers.py.

The tests run in order against one stack (module fixture); the destructive ones come last.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from helixflow.stacks.validate import EXIT_CRITICAL_FAILED, EXIT_OK, EXIT_SUCCESS_RATE_LOW
from tests.e2e.conftest import LocalStack
from tests.support.clock import avoid_minute_boundary

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def validate(stack: LocalStack, *args: str, own_stack: bool = True) -> tuple[int, dict[str, Any]]:
    proc = stack.cli("validate", *(["-s", stack.name] if own_stack else []), *args, "--json", timeout=300)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"no JSON: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}") from None


def by_status(document: dict[str, Any], status: str) -> dict[str, str]:
    return {c["name"]: c["explanation"] or "" for c in document["checks"] if c["status"] == status}


def outputs(stack: LocalStack) -> dict[str, Any]:
    rc, values = stack.cli_json("outputs", "--show-secrets")
    assert rc == 0
    return values


def admin(stack: LocalStack) -> httpx.Client:
    values = outputs(stack)
    return httpx.Client(base_url=f"http://127.0.0.1:{values['components']['auth']['port']}", timeout=10,
                        headers={"Authorization": f"Bearer {values['admin_api_key']}"})  # fmt: skip


def stop(pid: int, timeout: float = 15) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    raise AssertionError(f"process {pid} did not stop")


def _until_prometheus_sees_down(prometheus_url: str, instance: str, timeout_s: float = 20) -> None:
    """Prometheus reports a target down only after its next scrape (every 5 s on a local stack)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        targets = httpx.get(f"{prometheus_url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        if any(t["labels"].get("instance") == instance and t["health"] == "down" for t in targets):
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not see {instance} down within {timeout_s}s")


def refused_within(stack: LocalStack, status: int, seconds: float, api_key: str | None = None) -> None:
    """Poll the endpoint (each gateway process in turn answers) until it answers `status`; fail after `seconds`."""
    values = outputs(stack)
    tls = ssl.create_default_context(cafile=values["ca_file"])
    key = api_key or values["admin_api_key"]
    body = {"model": values["model"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    deadline = time.monotonic() + seconds
    seen: list[int] = []
    with httpx.Client(verify=tls, timeout=5, headers={"Authorization": f"Bearer {key}"}) as client:
        while True:
            codes = [client.post(f"{values['endpoint']}/v1/chat/completions", json=body).status_code for _ in range(4)]
            seen += codes
            if all(code == status for code in codes[-2:]):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"still not {status} after {seconds}s: {seen}")
            time.sleep(0.05)


class TestValidateLocalStack:
    def test_up_validates_the_stack_it_brings_up(self, local_stack: LocalStack) -> None:
        rc, summary = local_stack.cli_json("up", "--yes")
        assert rc == EXIT_OK, json.dumps(summary.get("validation"), indent=1)
        validation = summary["validation"]
        assert validation["summary"]["critical_failed"] == 0 and validation["summary"]["ok"] is True
        assert len(validation["checks"]) >= 25

    def test_every_check_passes_on_a_healthy_stack(self, local_stack: LocalStack, tmp_path: Path) -> None:
        local_stack.ensure_up()
        junit = tmp_path / "validate.xml"
        rc, document = validate(local_stack, "--junit", str(junit))
        assert by_status(document, "fail") == {}
        # the tiny CPU model has no embeddings: the only check that does not apply
        assert by_status(document, "skipped").keys() == {"embeddings"}
        assert rc == EXIT_OK and document["summary"]["success_rate"] == 100.0
        figures = {c["name"]: c["data"] for c in document["checks"] if c["group"] == "performance"}
        assert figures["gateway-overhead"]["cache_hits"] > 0 and figures["latency"]["p99_ms"] > 0
        root = ET.parse(junit).getroot()
        assert root.get("failures") == "0" and int(root.get("tests") or 0) == len(document["checks"])

    def test_a_lowered_quota_fails_the_api_and_performance_checks(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        with admin(local_stack) as client:
            tenant = client.get("/admin/me").json()["tenant_id"]
            before = client.get(f"/admin/tenants/{tenant}").json()["requests_per_minute"]
            # the one request of a new minute would pass: the checks below must fit in the minute they start in
            avoid_minute_boundary(room_s=15)  # ~3 s here
            assert client.patch(f"/admin/tenants/{tenant}", json={"requests_per_minute": 1}).status_code == 200
            try:
                refused_within(local_stack, 429, seconds=1.0)  # a change reaches every gateway process within 1 s
                rc, document = validate(local_stack, "--group", "api", "--group", "performance", "--requests", "20")
            finally:
                client.patch(f"/admin/tenants/{tenant}", json={"requests_per_minute": before})
        failed = by_status(document, "fail")
        assert rc == EXIT_CRITICAL_FAILED
        # one request a minute: the first inference request may pass, the next ones are refused
        refused = failed.keys() & {"chat", "chat-stream", "completion"}
        assert refused and all("429" in failed[name] for name in refused), failed
        assert "error-rate" in failed and "'429': 20" in failed["error-rate"]

    def test_revoking_the_key_in_use_fails_the_api_and_security_checks(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        values = outputs(local_stack)
        with admin(local_stack) as client:
            key = client.post("/admin/keys", json={"name": "validate-e2e"}).json()
            admin_url = str(client.base_url).rstrip("/")
            args = ("--url", values["endpoint"], "--api-key", key["api_key"], "--ca-file", values["ca_file"],
                    "--admin-url", admin_url, "--group", "api", "--group", "security")  # fmt: skip
            rc, document = validate(local_stack, *args, own_stack=False)
            assert rc == EXIT_OK, by_status(document, "fail")
            assert {"expired-key", "http-redirect", "embeddings"} >= by_status(document, "skipped").keys()
            assert client.delete(f"/admin/keys/{key['id']}").status_code == 200
        refused_within(local_stack, 401, seconds=1.0, api_key=key["api_key"])  # a revoked key: within 1 s
        rc, document = validate(local_stack, *args, own_stack=False)
        failed = by_status(document, "fail")
        assert rc == EXIT_CRITICAL_FAILED
        assert {"models", "chat", "chat-stream", "revoked-key", "cross-tenant"} <= failed.keys(), failed
        assert "401" in failed["models"] and "401" in failed["chat"]
        assert "no-key" in by_status(document, "pass")

    def test_a_stopped_worker_fails_the_availability_and_targets_checks(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        values = outputs(local_stack)
        worker = values["components"]["worker-1"]
        stop(int(worker["pid"]))
        _until_prometheus_sees_down(values["prometheus_url"], f"127.0.0.1:{worker['port']}")
        rc, document = validate(local_stack, "--group", "availability", "--check", "prometheus-targets",
                                "--check", "no-key")  # fmt: skip
        failed = by_status(document, "fail")
        assert rc == EXIT_CRITICAL_FAILED
        assert failed.keys() == {"components", "prometheus-targets"}, failed
        assert "worker-1 down" in failed["components"]
        assert failed["prometheus-targets"] == f"not up: workers/127.0.0.1:{worker['port']} down"
        assert "no-key" in by_status(document, "pass")

    def test_a_stopped_prometheus_fails_the_observability_checks(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        stop(int(outputs(local_stack)["components"]["prometheus"]["pid"]))
        rc, document = validate(local_stack, "--group", "observability")
        failed = by_status(document, "fail")
        assert failed.keys() == {"prometheus-targets", "prometheus-rules"}
        assert "ConnectError" in failed["prometheus-targets"]
        assert rc == EXIT_SUCCESS_RATE_LOW  # non-critical failures: the success rate decides (1 of 3 passed)
