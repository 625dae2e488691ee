"""Optional tracing: spans are exported over OTLP and the trace context reaches the pool."""

from __future__ import annotations

import http.server
import threading
import time
from typing import ClassVar

import httpx

from tests.runtime.helpers import chat
from tests.support.processes import free_port
from tests.support.services import Service


class Collector(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        Collector.received.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_tracing_exports_spans_and_propagates_the_context(base_env: dict[str, str], fake_pool: Service,
                                                          auth_service: Service, admin_key: str) -> None:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**base_env, "HELIXFLOW_POOL_URL": fake_pool.url, "HELIXFLOW_AUTH_URL": auth_service.url,
           "HELIXFLOW_TRACING_ENABLED": "true", "HELIXFLOW_OTLP_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces",
           "OTEL_BSP_SCHEDULE_DELAY": "100"}
    try:
        with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env) as traced:
            assert chat(traced.url, admin_key, headers={"X-Request-ID": "traced-1"}).status_code == 200
            stats = httpx.get(fake_pool.url + "/_stats").json()
            assert stats["last_request_id"] == "traced-1"
            version, trace_id, span_id, _flags = stats["last_traceparent"].split("-")
            assert version == "00" and len(trace_id) == 32 and len(span_id) == 16
            deadline = time.monotonic() + 10
            while "/v1/traces" not in Collector.received and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "/v1/traces" in Collector.received
    finally:
        server.shutdown()
