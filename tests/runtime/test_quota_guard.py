"""Quotas fail open only while Redis is unreachable, and that state is a metric."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from redis.exceptions import AuthenticationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from helixflow.runtime.gateway.metrics import GatewayMetrics
from helixflow.runtime.gateway.quota_guard import may_fail_open, quota_unavailable

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("err", [RedisConnectionError("refused"), RedisTimeoutError("slow"), ConnectionResetError()])
def test_an_unreachable_redis_fails_open(err: Exception) -> None:
    assert may_fail_open(err)


@pytest.mark.parametrize("err", [AuthenticationError("WRONGPASS"), ResponseError("OOM command not allowed"),
                                 ResponseError("NOAUTH Authentication required")])
def test_a_redis_that_answers_with_an_error_is_not_failed_open(err: Exception) -> None:
    assert not may_fail_open(err)
    assert quota_unavailable(err).status == 503


def test_the_fail_open_state_is_exposed() -> None:
    registry = CollectorRegistry()
    metrics = GatewayMetrics(registry)

    def value() -> str:
        line = next(line for line in generate_latest(registry).decode().splitlines()
                    if line.startswith("helixflow_quota_fail_open "))
        return line.split()[1]

    assert value() == "0.0"
    metrics.set_quota_fail_open(True)
    metrics.set_quota_fail_open(True)
    assert value() == "1.0"
    assert "helixflow_quota_fail_open_requests_total 2.0" in generate_latest(registry).decode()
    metrics.set_quota_fail_open(False)
    assert value() == "0.0"
