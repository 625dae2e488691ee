"""The real sglang-router in front of real CPU engines: registration, routing, auth, worker management."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.router_control import PoolError, RouterAdmin

from .conftest import MODEL_NAME, EngineFactory, RouterFactory, engine_url
from .test_engine_server import metric, sse_events

CHAT = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}


def test_router_registers_workers_and_spreads_traffic(start_engine: EngineFactory, start_router: RouterFactory) -> None:
    urls = [engine_url(start_engine()), engine_url(start_engine())]
    _, spec = start_router(worker_urls=urls, policy="round_robin")
    with RouterAdmin(spec.url) as admin:
        state = admin.wait_for_workers(2, timeout_s=30)
        assert state.ready and state.healthy_workers == state.total_workers == 2
        workers = admin.workers()
    assert sorted(w.url for w in workers) == sorted(urls)
    assert all(w.model_id == MODEL_NAME for w in workers)
    with httpx.Client(base_url=spec.url, timeout=30) as client:
        for i in range(10):
            response = client.post(
                "/v1/chat/completions", json={**CHAT, "messages": [{"role": "user", "content": f"{i}"}]}
            )
            assert response.status_code == 200, response.text
            assert response.json()["usage"]["completion_tokens"] == 4
        request = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        with client.stream("POST", "/v1/chat/completions", json=request) as response:
            events = list(sse_events(response))
        assert events[-1] == "[DONE]" and events[-2]["usage"]["completion_tokens"] == 4
        completion = client.post("/v1/completions", json={"model": MODEL_NAME, "prompt": "the", "max_tokens": 3})
        assert completion.json()["usage"]["completion_tokens"] == 3
        assert client.get("/v1/models").json()["data"][0]["id"] == MODEL_NAME
    served = [metric(httpx.get(url + "/metrics").text, "sglang:num_requests_total") for url in urls]
    assert all(count >= 4 for count in served), served


def test_workers_added_and_removed_while_running(start_engine: EngineFactory, start_router: RouterFactory) -> None:
    _, spec = start_router()
    first, second = engine_url(start_engine()), engine_url(start_engine())
    with RouterAdmin(spec.url) as admin, httpx.Client(base_url=spec.url, timeout=30) as client:
        empty = admin.readiness()
        assert not empty.ready and empty.total_workers == 0
        assert client.get("/health").status_code == 200, "the router's own health says nothing about workers"
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 503
        admin.add_worker(first)
        admin.add_worker(second)
        assert admin.wait_for_workers(2, timeout_s=30).healthy_workers == 2
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        admin.remove_worker(first)
        remaining = _wait_for(lambda: [w.url for w in admin.workers()] == [second], "removal")
        assert remaining
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        with pytest.raises(PoolError, match="no worker"):
            admin.remove_worker("http://127.0.0.1:9")


def test_api_key_between_caller_router_and_workers(start_engine: EngineFactory, start_router: RouterFactory) -> None:
    key = "pool-secret"
    worker = engine_url(start_engine(api_key=key))
    router, spec = start_router(worker_urls=[worker], api_key=key)
    with RouterAdmin(spec.url, api_key=key) as admin:
        admin.wait_for_workers(1, timeout_s=30)
    # The router retitles itself (setproctitle) once started; the spec's argv shows what it was started with.
    assert key.encode() not in Path(f"/proc/{router.pid}/cmdline").read_bytes(), "ps would show the key"
    assert key not in " ".join(spec.argv())
    assert httpx.post(spec.url + "/v1/chat/completions", json=CHAT, timeout=30).status_code == 401
    bad = httpx.post(spec.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer x"}, timeout=30)
    assert bad.status_code == 401
    good = httpx.post(
        spec.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert good.status_code == 200, good.text
    with RouterAdmin(spec.url) as keyless, pytest.raises(PoolError, match="401"):
        keyless.workers()


def test_unreachable_router_is_a_pool_error() -> None:
    from tests.support.processes import free_port

    with (
        RouterAdmin(f"http://127.0.0.1:{free_port()}", timeout_s=1) as admin,
        pytest.raises(PoolError, match="unreachable"),
    ):
        admin.readiness()


def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
