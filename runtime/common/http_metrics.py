"""The seed's HTTP metrics (``api_requests_total``, ``api_request_duration_seconds``, ``active_connections``)
and a plain ASGI middleware recording them for the auth and monitoring services."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helixflow.runtime.common.metrics_registry import multiprocess_enabled

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # In multiprocess mode the samples go to files that /metrics aggregates; registering them here too
        # would report this process twice.
        target = None if multiprocess_enabled() else registry
        self.requests = Counter("api_requests_total", "Total API requests", ["method", "endpoint", "status"],
                                registry=target)
        self.duration = Histogram("api_request_duration_seconds", "API request duration", ["method", "endpoint"],
                                  buckets=LATENCY_BUCKETS, registry=target)
        self.active = Gauge("active_connections", "Number of active connections (requests in flight)",
                            registry=target, multiprocess_mode="livesum")


def route_template(app: ASGIApp, scope: Scope) -> str:
    """The matched route's path template (bounded label values), or 'unmatched'."""
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics, router: ASGIApp) -> None:
        self.app, self.metrics, self.router = app, metrics, router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.active.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.active.dec()
            endpoint = route_template(self.router, scope)
            method = scope["method"]
            self.metrics.requests.labels(method, endpoint, str(status)).inc()
            self.metrics.duration.labels(method, endpoint).observe(time.perf_counter() - start)
