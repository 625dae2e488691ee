"""The gateway's metrics: the seed's names plus time to first token, tokens, cache and rate limiting.

On the request path the labelled children are bound once to their value objects (``child()``): the
public ``inc``/``observe`` re-check, per call, things that cannot change for a child (about 7% of the
gateway's CPU at full load). The bound increments write the same values, in the same files in
multiprocess mode; ``tests/runtime/test_gateway_metrics.py`` checks that the exposition is identical.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
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

        self.active_inc: Callable[[float], None] = self.active._value.inc  # +1 / -1 per request in flight
        # labels() validates and locks on every call; the gateway's label sets are few, so keep the children.
        self._children: dict[tuple[Any, ...], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """The labelled child as a ``BoundCounter`` or ``BoundHistogram``."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            child = metric.labels(*labels)
            found = self._children[key] = (BoundHistogram(child) if isinstance(child, Histogram)
                                           else BoundCounter(child))
        return found


class BoundCounter:
    """``inc`` of one counter child; amounts are never negative here."""

    __slots__ = ("inc",)

    def __init__(self, child: Counter) -> None:
        self.inc: Callable[[float], None] = child._value.inc


class BoundHistogram:
    """``observe`` of one histogram child: the sum, and the first bucket whose bound is >= the amount."""

    __slots__ = ("_add_to_bucket", "_add_to_sum", "_bounds")

    def __init__(self, child: Histogram) -> None:
        self._add_to_sum: Callable[[float], None] = child._sum.inc
        self._add_to_bucket: list[Callable[[float], None]] = [bucket.inc for bucket in child._buckets]
        self._bounds: list[float] = list(child._upper_bounds)  # ends with +Inf: every amount has a bucket

    def observe(self, amount: float) -> None:
        self._add_to_sum(amount)
        self._add_to_bucket[bisect.bisect_left(self._bounds, amount)](1)
