"""The gateway's metrics: the seed's names plus time to first token, tokens, cache and rate limiting."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from helixflow.runtime.common.http_metrics import LATENCY_BUCKETS, HttpMetrics
from helixflow.runtime.common.metrics_registry import multiprocess_enabled


class GatewayMetrics(HttpMetrics):
    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__(registry)
        target = None if multiprocess_enabled() else registry
        self.inference = Histogram("model_inference_seconds", "Model inference time (upstream round trip)",
                                   ["model", "batch_size"], buckets=LATENCY_BUCKETS, registry=target)
        self.ttft = Histogram("helixflow_time_to_first_token_seconds", "Time to the first streamed token",
                              ["model"], buckets=LATENCY_BUCKETS, registry=target)
        self.tokens = Counter("helixflow_tokens_total", "Tokens processed", ["model", "kind"], registry=target)
        self.cache = Counter("helixflow_cache_requests_total", "Response cache lookups", ["result"],
                             registry=target)
        self.rate_limited = Counter("helixflow_rate_limited_total", "Requests refused by a quota", ["reason"],
                                    registry=target)
        self.upstream_errors = Counter("helixflow_upstream_errors_total", "Failed calls to the pool", ["kind"],
                                       registry=target)
        self.usage_fallbacks = Counter("helixflow_usage_direct_writes_total",
                                       "Usage records written straight to PostgreSQL because Redis failed",
                                       registry=target)

        # labels() validates and locks on every call; the gateway's label sets are few, so keep the children.
        self._children: dict[tuple[Any, ...], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found
