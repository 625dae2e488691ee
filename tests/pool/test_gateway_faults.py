"""Faults seen through the whole path: gateway → sglang-router → CPU engines (all real processes)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from helixflow.runtime.pool.router import RouterSpec
from tests.support.pool_processes import cpu_engine_process, router_process
from tests.support.postgres import PostgresServer
from tests.support.processes import ManagedProcess, free_port
from tests.support.redis import RedisServer
from tests.support.router_control import RouterAdmin
from tests.support.services import Service, migrate_and_bootstrap, runtime_env

from .conftest import MODEL_NAME, engine_url

pytestmark = pytest.mark.services
POOL_KEY = "-gateway-to-pool"  # a leading "-" must still reach the router as a value
UPSTREAM_READ_TIMEOUT_S = 3


class PoolPath:
    """The running path, with the workers the tests kill and restart."""

    def __init__(self, gateway: Service, router: RouterSpec, engines: list[ManagedProcess], key: str,
                 database_url: str) -> None:
        self.gateway, self.router, self.engines, self.key = gateway, router, engines, key
        self.database_url = database_url

    def chat(self, **extra: Any) -> httpx.Response:
        body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, **extra}
        return httpx.post(
            self.gateway.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )  # fmt: skip


@pytest.fixture(scope="module")
def full_path(tiny_model: Path, log_dir: Path) -> Iterator[PoolPath]:
    with PostgresServer() as postgres, RedisServer() as redis:
        env = runtime_env(postgres.url, redis.url)
        key = migrate_and_bootstrap(env)
        engines: list[ManagedProcess] = []
        router: ManagedProcess | None = None
        try:  # whatever fails to start, what did start is stopped
            for _ in range(2):
                port = free_port()
                engines.append(
                    cpu_engine_process(
                        tiny_model, MODEL_NAME, port=port, log_path=log_dir / f"gw-engine-{port}.log", api_key=POOL_KEY
                    ).start(timeout_s=30)
                )
            spec = RouterSpec(
                port=free_port(), prometheus_port=free_port(), worker_urls=[engine_url(e) for e in engines],
                api_key=POOL_KEY,
            )  # fmt: skip
            router = router_process(spec, log_path=log_dir / "gw-router.log")
            router.start(timeout_s=30)
            with RouterAdmin(spec.url, api_key=POOL_KEY) as admin:
                admin.wait_for_workers(2, timeout_s=30)
            with Service("helixflow.runtime.auth", "HELIXFLOW_AUTH_PORT", env) as auth:
                gateway_env = {
                    **env, "HELIXFLOW_POOL_URL": spec.url, "HELIXFLOW_POOL_API_KEY": POOL_KEY,
                    "HELIXFLOW_AUTH_URL": auth.url, "HELIXFLOW_UPSTREAM_READ_TIMEOUT": str(UPSTREAM_READ_TIMEOUT_S),
                }  # fmt: skip
                with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", gateway_env) as gateway:
                    yield PoolPath(gateway, spec, engines, key, postgres.url)
        finally:
            if router is not None:
                router.stop()
            for engine in engines:
                engine.stop()


def test_completion_through_the_whole_path(full_path: PoolPath) -> None:
    response = full_path.chat()
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["completion_tokens"] == 4


def test_an_abandoned_stream_is_billed_through_the_real_router(full_path: PoolPath) -> None:
    """The gateway asks for continuous_usage_stats (the CPU engine honours it, as SGLang does) but sglang-router
    0.3 drops it on the way: the gateway counts the events it relayed and estimates the prompt, and says so in
    the row. Either way a stream the client leaves early is billed, prompt included."""
    request_id = f"abandoned-{time.time_ns()}"
    body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "go on"}], "stream": True,
            "max_tokens": 200, "ignore_eos": True}
    events = 0
    with httpx.stream("POST", full_path.gateway.url + "/v1/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {full_path.key}", "X-Request-ID": request_id}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: {"):
                event = orjson.loads(line[6:])
                assert event["usage"] is None  # the client did not ask for it: OpenAI's shape
                events += 1
            if events >= 4:
                break
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(full_path.database_url) as db:
            row = db.execute("SELECT status, prompt_tokens, completion_tokens, error_message FROM requests "
                             "WHERE client_request_id = %s AND status <> 'pending'", (request_id,)).fetchone()
        if row is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert row is not None, "no usage row"
    status, prompt, completion, error = row
    print(f"status={status} prompt={prompt} completion={completion} error={error}")
    assert status in ("cancelled", "completed") and prompt > 0 and completion >= 3
    if status == "cancelled":
        assert completion < 200


def test_worker_hanging_mid_stream_gets_a_clean_error_event(full_path: PoolPath) -> None:
    worker = full_path.engines[0]
    with RouterAdmin(full_path.router.url, api_key=POOL_KEY) as admin:
        admin.wait_for_workers(2, timeout_s=15)
    body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "go"}], "stream": True}
    frozen: list[ManagedProcess] = []
    lines: list[str] = []
    started = time.monotonic()
    try:
        with httpx.stream(
            "POST", full_path.gateway.url + "/v1/chat/completions", json=body,
            headers={"Authorization": f"Bearer {full_path.key}"}, timeout=30,
        ) as response:  # fmt: skip
            assert response.status_code == 200
            for line in response.iter_lines():
                if not frozen:
                    for engine in full_path.engines:  # freeze both: whichever serves the stream hangs
                        engine.signal(signal.SIGSTOP)
                        frozen.append(engine)
                    started = time.monotonic()
                if line:
                    lines.append(line)
    finally:
        for engine in frozen:
            engine.signal(signal.SIGCONT)
    elapsed = time.monotonic() - started
    assert worker in frozen
    assert elapsed < UPSTREAM_READ_TIMEOUT_S + 3, f"stream closed after {elapsed:.1f}s"
    errors = [orjson.loads(line[6:]) for line in lines if line.startswith("data: {") and '"error"' in line]
    assert errors, f"no error event in {lines[-3:]}"
    assert set(errors[-1]["error"]) >= {"message", "type", "code"}


def test_every_worker_dead_is_a_quick_503_with_retry_after_then_recovery(full_path: PoolPath, tiny_model: Path) -> None:
    for engine in full_path.engines:
        engine.kill()
    for _ in range(3):
        started = time.monotonic()
        response = full_path.chat()
        assert time.monotonic() - started < 2.0, "no long retry storm"
        assert response.status_code == 503, response.text
        assert response.headers.get("retry-after")
        assert set(response.json()["error"]) >= {"message", "type", "param", "code"}
    port = int(engine_url(full_path.engines[1]).rsplit(":", 1)[1])
    log = full_path.engines[1].log_path
    full_path.engines[1] = cpu_engine_process(tiny_model, MODEL_NAME, port=port, log_path=log, api_key=POOL_KEY).start(
        timeout_s=30
    )
    deadline = time.monotonic() + 20
    while full_path.chat().status_code != 200:
        assert time.monotonic() < deadline, "the path did not recover by itself"
        time.sleep(0.2)
