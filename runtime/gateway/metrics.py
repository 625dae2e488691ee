"""The gateway's metrics: the seed's names plus time to first token, tokens, cache and rate limiting.

On the request path the labelled children are bound once (``child()``): the public ``inc``/``observe``
re-check, per call, things that cannot change for a child, and take a lock per value (together about 9% of
the gateway's CPU at full load). A bound child adds to plain numbers instead, which only the event loop's
thread touches; ``fold()`` moves them into prometheus_client's values (the same values, in the same files
in multiprocess mode). The gateway folds before every scrape it serves and once a second, so in
multiprocess mode another worker's scrape lags by at most that second.
``tests/runtime/test_gateway_metrics.py`` checks that the exposition is identical to the public API's.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
        self.quota_fail_open = Gauge("helixflow_quota_fail_open",
                                     "1 while this process serves without quota checks because Redis is unreachable",
                                     registry=target, multiprocess_mode="livemax")
        self.quota_fail_open_requests = Counter("helixflow_quota_fail_open_requests",
                                                "Requests served without a quota check (Redis unreachable)",
                                                registry=target)
        self.quota_failing_open = False

        # labels() validates and locks on every call; the gateway's label sets are few, so keep the children.
        self._children: dict[tuple[Any, ...], BoundCounter | BoundHistogram] = {}
        self._active = BoundCounter(self.active)
        self.active_inc: Callable[[float], None] = self._active.inc  # +1 / -1 per request in flight

    def set_quota_fail_open(self, failing: bool) -> None:
        """Counts a request served unchecked; the gauge is written only when the state changes."""
        if failing:
            self.quota_fail_open_requests.inc()
        if failing != self.quota_failing_open:
            self.quota_failing_open = failing
            self.quota_fail_open.set(1 if failing else 0)

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """The labelled child as a ``BoundCounter`` or ``BoundHistogram``."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            child = metric.labels(*labels)
            found = self._children[key] = (BoundHistogram(child) if isinstance(child, Histogram)
                                           else BoundCounter(child))
        return found

    def fold(self) -> None:
        """Moves what the bound children counted into prometheus_client's values. Runs on the loop's thread."""
        self._active.fold()
        for child in self._children.values():
            child.fold()


class BoundCounter:
    """``inc`` of one counter (or gauge) child, folded into its value later."""

    __slots__ = ("_add", "pending")

    def __init__(self, child: Counter | Gauge) -> None:
        self._add: Callable[[float], None] = child._value.inc
        self.pending = 0.0

    def inc(self, amount: float) -> None:
        self.pending += amount

    def fold(self) -> None:
        if self.pending:
            amount, self.pending = self.pending, 0.0
            self._add(amount)


class BoundHistogram:
    """``observe`` of one histogram child: the sum, and the first bucket whose bound is >= the amount."""

    __slots__ = ("_add_to_bucket", "_add_to_sum", "_bounds", "counts", "total")

    def __init__(self, child: Histogram) -> None:
        self._add_to_sum: Callable[[float], None] = child._sum.inc
        self._add_to_bucket: list[Callable[[float], None]] = [bucket.inc for bucket in child._buckets]
        self._bounds: list[float] = list(child._upper_bounds)  # ends with +Inf: every amount has a bucket
        self.counts = [0] * len(self._bounds)
        self.total = 0.0

    def observe(self, amount: float) -> None:
        self.total += amount
        self.counts[bisect.bisect_left(self._bounds, amount)] += 1

    def fold(self) -> None:
        counts = self.counts
        if not any(counts):
            return
        total, self.total, self.counts = self.total, 0.0, [0] * len(counts)
        self._add_to_sum(total)
        for add, count in zip(self._add_to_bucket, counts, strict=True):
            if count:
                add(count)
