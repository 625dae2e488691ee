"""The gateway's bound metric children, once folded, expose exactly what prometheus_client's public inc/observe
would."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from helixflow.runtime.gateway.metrics import GatewayMetrics


def _record(metrics: GatewayMetrics, samples: list[float], bound: bool, start: int = 0) -> None:
    for i, amount in enumerate(samples, start):
        labels = ("POST", "/v1/chat/completions", "200" if i % 3 else "429")
        tokens = ("tiny-model", "prompt")
        if bound:
            metrics.child(metrics.requests, *labels).inc(1)
            metrics.child(metrics.duration, *labels[:2]).observe(amount)
            metrics.child(metrics.tokens, *tokens).inc(i % 7)
            metrics.active_inc(1 if i % 2 else -1)
        else:
            metrics.requests.labels(*labels).inc()
            metrics.duration.labels(*labels[:2]).observe(amount)
            metrics.tokens.labels(*tokens).inc(i % 7)
            if i % 2:
                metrics.active.inc()
            else:
                metrics.active.dec()


def test_bound_children_expose_the_same_samples_as_the_public_api() -> None:
    rng = random.Random(7)
    # Amounts on, just above and below every bucket bound, and past the last one.
    edges = [0.0, 0.001, 0.0010001, 0.0249, 0.025, 0.7, 2.5, 119.9, 120.0, 500.0]
    samples = [rng.choice(edges) for _ in range(400)] + [rng.uniform(0, 150) for _ in range(400)]
    public, bound = CollectorRegistry(), CollectorRegistry()
    public_metrics, bound_metrics = GatewayMetrics(public), GatewayMetrics(bound)
    _record(public_metrics, samples, bound=False)
    _record(bound_metrics, samples[:300], bound=True)
    bound_metrics.fold()
    _record(bound_metrics, samples[300:], bound=True, start=300)
    assert b"api_requests_total" in generate_latest(bound)  # what the first fold moved is already exposed
    bound_metrics.fold()
    exposed = _without_creation_times(generate_latest(bound))
    assert any(line.startswith(b'api_request_duration_seconds_bucket{endpoint="/v1/chat/completions",le="0.001"')
               for line in exposed)
    expected = _without_creation_times(generate_latest(public))
    assert [_name(line) for line in exposed] == [_name(line) for line in expected]
    for got, want in zip(exposed, expected, strict=True):
        if b"_sum{" in got:  # summed in two folds: equal up to float rounding
            assert float(got.rsplit(b" ", 1)[1]) == pytest.approx(float(want.rsplit(b" ", 1)[1]), rel=1e-12)
        else:
            assert got == want


def _name(line: bytes) -> bytes:
    return line.rsplit(b" ", 1)[0]


def _without_creation_times(exposition: bytes) -> list[bytes]:
    return [line for line in exposition.splitlines() if b"_created" not in line]
