"""Time to first token through gateway → sglang-router → CPU engine is not stalled by delayed ACKs.

sglang-router leaves Nagle on, so it holds a stream's first event until the gateway ACKs the response
headers; on a kept-alive connection the gateway's kernel delayed that ACK and every first token came
~40 ms late (see runtime/gateway/upstream.py). Back-to-back streams on kept-alive connections are the
case that stalled; the median over several keeps the check steady on a loaded machine (unstalled it is a
few ms, stalled over 40).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helixflow.runtime.pool.router import RouterSpec
from tests.support.pool_processes import cpu_engine_process, router_process
from tests.support.postgres import PostgresServer
from tests.support.processes import free_port
from tests.support.redis import RedisServer
from tests.support.router_control import RouterAdmin
from tests.support.services import Service, migrate_and_bootstrap, runtime_env

from .conftest import MODEL_NAME, engine_url

pytestmark = pytest.mark.services
POOL_KEY = "gateway-latency-pool-key"
STALL_FREE_MEDIAN_S = 0.020


@pytest.fixture(scope="module")
def gateway_path(tiny_model: Path, log_dir: Path) -> Iterator[tuple[str, str]]:
    """(gateway URL, API key) of a gateway in front of a router with one CPU engine."""
    with PostgresServer() as postgres, RedisServer() as redis:
        env = runtime_env(postgres.url, redis.url)
        key = migrate_and_bootstrap(env)
        port = free_port()
        engine = cpu_engine_process(
            tiny_model, MODEL_NAME, port=port, log_path=log_dir / f"latency-engine-{port}.log", api_key=POOL_KEY
        ).start(timeout_s=30)
        spec = RouterSpec(
            port=free_port(), prometheus_port=free_port(), worker_urls=[engine_url(engine)], api_key=POOL_KEY
        )
        router = router_process(spec, log_path=log_dir / "latency-router.log")
        try:
            router.start(timeout_s=30)
            with RouterAdmin(spec.url, api_key=POOL_KEY) as admin:
                admin.wait_for_workers(1, timeout_s=30)
            with Service("helixflow.runtime.auth", "HELIXFLOW_AUTH_PORT", env) as auth:
                gateway_env = {
                    **env, "HELIXFLOW_POOL_URL": spec.url, "HELIXFLOW_POOL_API_KEY": POOL_KEY,
                    "HELIXFLOW_AUTH_URL": auth.url,
                }  # fmt: skip
                with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", gateway_env) as gateway:
                    yield gateway.url, key
        finally:
            router.stop()
            engine.stop()


def _time_to_first_token(client: httpx.Client, url: str, key: str) -> float:
    body = {
        "model": MODEL_NAME, "messages": [{"role": "user", "content": "the model"}], "max_tokens": 8,
        "temperature": 0, "stream": True,
    }  # fmt: skip
    started = time.perf_counter()
    first: float | None = None
    with client.stream("POST", url + "/v1/chat/completions", json=body,
                       headers={"Authorization": f"Bearer {key}"}) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if first is None and line.startswith("data: {") and '"content":' in line:
                first = time.perf_counter() - started
    assert first is not None, "no token streamed"
    return first


def test_first_token_through_gateway_and_router_is_not_held_back(gateway_path: tuple[str, str]) -> None:
    url, key = gateway_path
    with httpx.Client(timeout=30) as client:
        for _ in range(3):  # warm: connections kept alive on every hop, caches filled
            _time_to_first_token(client, url, key)
        samples = [_time_to_first_token(client, url, key) for _ in range(11)]
    median = statistics.median(samples)
    assert median < STALL_FREE_MEDIAN_S, f"TTFT median {median * 1000:.1f} ms; samples (ms): " + ", ".join(
        f"{s * 1000:.1f}" for s in samples
    )
