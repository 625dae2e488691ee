"""TLS and HTTP checks against tiny servers that break exactly one property each: the checks must fail."""

from __future__ import annotations

import dataclasses
import http.server
import json
import ssl
import threading
from pathlib import Path

import pytest

from helixflow.stacks.validate import Options, Report, Status, deployment_from_url, validate
from helixflow.stacks.validate.checks import tls
from helixflow.stacks.validate.context import Context
from tests.validate.servers import make_pki, serve

KEY = "hf_abcdefgh_validate-test-secret-0123456789"


def run(url: str, names: list[str], ca_file: Path | None = None) -> dict[str, tuple[Status, str]]:
    report: Report = validate(deployment_from_url(url, KEY, str(ca_file) if ca_file else None), Options(timeout=30),
                              names=names)  # fmt: skip
    return {r.name: (r.status, r.outcome.explanation) for r in report.results}


def test_an_expired_certificate_fails_the_chain_and_expiry_checks(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, days_from=-30, days_to=-1)
    with serve(pki) as port:
        results = run(f"https://localhost:{port}", ["tls-chain", "tls-expiry"], pki.ca_file)
    assert results["tls-chain"][0] == Status.failed and "expired" in results["tls-chain"][1]
    assert results["tls-expiry"][0] == Status.failed and "certificate expired" in results["tls-expiry"][1]


def test_a_certificate_close_to_expiry_fails_and_a_good_one_passes(tmp_path: Path) -> None:
    soon = make_pki(tmp_path, days_from=-1, days_to=5)
    with serve(soon) as port:
        results = run(f"https://localhost:{port}", ["tls-chain", "tls-expiry"], soon.ca_file)
    assert results["tls-chain"][0] == Status.passed
    assert results["tls-expiry"][0] == Status.failed and "need > 14 days" in results["tls-expiry"][1]
    good = make_pki(tmp_path, days_from=-1, days_to=60)
    with serve(good) as port:
        results = run(f"https://localhost:{port}", ["tls-chain", "tls-expiry", "tls-versions"], good.ca_file)
    assert {name: status for name, (status, _) in results.items()} == dict.fromkeys(results, Status.passed)


def test_a_certificate_for_another_host_or_from_another_ca_fails_the_chain(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    pki = make_pki(tmp_path / "other", days_from=-1, days_to=60, host="other.test")
    stranger = make_pki(tmp_path, days_from=-1, days_to=60)
    with serve(pki) as port:
        assert run(f"https://localhost:{port}", ["tls-chain"], pki.ca_file)["tls-chain"][0] == Status.failed
    with serve(stranger) as port:
        unknown_ca = run(f"https://localhost:{port}", ["tls-chain"], pki.ca_file)["tls-chain"]
    assert unknown_ca[0] == Status.failed and "certificate" in unknown_ca[1]


def test_a_server_accepting_tls_1_1_fails_the_versions_check(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, days_from=-1, days_to=60)
    with serve(pki, old_tls=True) as port:
        status, why = run(f"https://localhost:{port}", ["tls-versions"], pki.ca_file)["tls-versions"]
    assert status == Status.failed and "TLSv1_1" in why


def test_missing_headers_an_echoed_key_and_no_redirect_fail() -> None:
    with serve() as port:
        base = f"http://127.0.0.1:{port}"
        results = run(base, ["security-headers", "no-secret-echo", "tls-chain"])
        # the plain-HTTP address answers 200 itself instead of redirecting
        target = dataclasses.replace(deployment_from_url(base, KEY), http_url=base)
        redirect = tls.http_redirect(Context(target, Options(timeout=10)))
    assert results["security-headers"][0] == Status.failed
    assert "strict-transport-security" in results["security-headers"][1]
    assert results["no-secret-echo"][0] == Status.failed and "GET /v1/models" in results["no-secret-echo"][1]
    assert results["tls-chain"] == (Status.failed, "the endpoint is not https")
    assert redirect.status == Status.failed and "answered 200" in redirect.explanation


def test_an_old_version_handshake_that_times_out_is_not_counted_as_refused(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pki = make_pki(tmp_path, days_from=-1, days_to=60)
    modern = tls.handshake

    def only_modern(host: str, port: int, context: ssl.SSLContext, timeout: float) -> tuple[str, bytes]:
        if context.maximum_version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            raise TimeoutError("timed out")  # the server stalls: that is no answer about the version
        return modern(host, port, context, timeout)

    monkeypatch.setattr(tls, "handshake", only_modern)
    with serve(pki) as port:
        status, why = run(f"https://localhost:{port}", ["tls-versions"], pki.ca_file)["tls-versions"]
    assert status == Status.failed and "could not try a TLSv1 handshake: TimeoutError" in why


class _PrometheusNames(http.server.BaseHTTPRequestHandler):
    """A Prometheus that has scraped the gateway: the series names of the seed metrics."""

    def do_GET(self) -> None:
        names = ["api_requests_total", "api_request_duration_seconds_bucket", "model_inference_seconds_count",
                 "active_connections", "up"]
        body = json.dumps({"status": "success", "data": names}).encode() if self.path.startswith(
            "/api/v1/label/__name__/values") else b"{}"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_metrics_check_reads_prometheus_not_a_public_metrics_endpoint() -> None:
    prometheus = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PrometheusNames)
    thread = threading.Thread(target=prometheus.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with serve() as port:  # the public endpoint: its /metrics is no metrics exposition
            report = validate(deployment_from_url(f"http://127.0.0.1:{port}", KEY,
                                                  prometheus_url=f"http://127.0.0.1:{prometheus.server_port}",
                                                  model="tiny-test-model"),
                              Options(timeout=30), names=["metrics"])
    finally:
        prometheus.shutdown()
        prometheus.server_close()
    assert [(r.status, r.outcome.value) for r in report.results] == [(Status.passed, "4/4 seed metrics")]


class _BusyUsageApi(http.server.BaseHTTPRequestHandler):
    """A deployment whose usage report grows with others' traffic but never records this run's request."""

    calls = 0

    def _answer(self, status: int, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/admin/usage/requests/"):
            self._answer(404, {"error": {"message": "not found"}})
        else:
            type(self).calls += 1
            self._answer(200, {"total_requests": 1000 + type(self).calls})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._answer(200, {"choices": []})

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_usage_recorded_looks_for_its_own_request_not_a_growing_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from helixflow.stacks.validate.checks import data

    monkeypatch.setattr(data, "RECORD_WAIT", 1.0)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BusyUsageApi)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        report = validate(deployment_from_url(url, KEY, admin_url=url, model="tiny-test-model"), Options(timeout=30),
                          names=["usage-recorded"])
    finally:
        server.shutdown()
        server.server_close()
    [result] = report.results
    assert result.status == Status.failed and "not in the usage records" in result.outcome.explanation
