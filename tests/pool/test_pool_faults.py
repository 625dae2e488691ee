"""Faults with the real router and real CPU engines: a worker dies, every worker dies, a worker hangs."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import httpx

from tests.support.router_control import RouterAdmin

from .conftest import MODEL_NAME, EngineFactory, RouterFactory, engine_url
from .test_engine_server import metric


def _until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Seconds until `check()` holds; AssertionError after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout_s}s")


class SteadyLoad:
    """Two client threads sending short completions back to back, recording every outcome."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.outcomes: list[int | str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(2)]

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            i = 0
            while not self._stop.is_set():
                i += 1
                body = {"model": MODEL_NAME, "prompt": f"load {n} {i}", "max_tokens": 4}
                try:
                    self.outcomes.append(client.post("/v1/completions", json=body).status_code)
                except httpx.HTTPError as exc:
                    self.outcomes.append(repr(exc))

    def __enter__(self) -> SteadyLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)


def _served(url: str) -> float:
    try:
        return metric(httpx.get(url + "/metrics", timeout=2).text, "sglang:num_requests_total")
    except httpx.HTTPError:
        return 0.0


def test_killing_one_worker_under_load_loses_no_request(
    start_engine: EngineFactory, start_router: RouterFactory
) -> None:
    doomed, survivor = start_engine(), start_engine()
    doomed_url, survivor_url = engine_url(doomed), engine_url(survivor)
    _, spec = start_router(worker_urls=[doomed_url, survivor_url], policy="round_robin")
    with RouterAdmin(spec.url) as admin, SteadyLoad(spec.url) as load:
        admin.wait_for_workers(2, timeout_s=30)
        _until(lambda: _served(doomed_url) >= 5, 10, "traffic on both workers")

        doomed.kill()
        noticed = _until(lambda: not {w.url: w.healthy for w in admin.workers()}[doomed_url], 8, "marked unhealthy")
        assert noticed <= 5.0, f"dead worker noticed after {noticed:.1f}s"
        assert admin.readiness().healthy_workers == 1

        start_engine(port=int(doomed_url.rsplit(":", 1)[1]))  # the same worker comes back
        back = _until(lambda: _served(doomed_url) >= 3, 20, "traffic back on the restarted worker")
        assert back < spec.cb_timeout_duration_secs + spec.worst_case_detection_s + 5
    assert len(load.outcomes) > 50, "the load did not run"
    failures = [o for o in load.outcomes if o != 200]
    assert not failures, f"{len(failures)} of {len(load.outcomes)} requests failed: {failures[:5]}"


def test_every_worker_dead_answers_fast_then_recovers(start_engine: EngineFactory, start_router: RouterFactory) -> None:
    engines = [start_engine(), start_engine()]
    urls = [engine_url(e) for e in engines]
    _, spec = start_router(worker_urls=urls)
    request = {"model": MODEL_NAME, "prompt": "x", "max_tokens": 2}
    with RouterAdmin(spec.url) as admin, httpx.Client(base_url=spec.url, timeout=30) as client:
        admin.wait_for_workers(2, timeout_s=30)
        for engine in engines:
            engine.kill()

        # Before the health checks notice, a request still fails fast (the router's retries are bounded).
        started = time.monotonic()
        assert client.post("/v1/completions", json=request).status_code >= 500
        assert time.monotonic() - started < 2.0

        _until(lambda: not admin.readiness().ready, 6, "pool not ready")
        assert client.get("/health").status_code == 200, "router /health stays 200: never use it for readiness"
        assert client.get("/readiness").status_code == 503
        for _ in range(3):
            started = time.monotonic()
            response = client.post("/v1/completions", json=request)
            assert response.status_code == 503 and response.json()["error"]["code"] == "no_available_workers"
            assert time.monotonic() - started < 1.0, "no retry storm with every worker dead"

        start_engine(port=int(urls[1].rsplit(":", 1)[1]))
        _until(lambda: client.post("/v1/completions", json=request).status_code == 200, 15, "recovery")
        assert admin.readiness().ready


def test_worker_hanging_mid_stream_is_cut_at_the_request_timeout(
    start_engine: EngineFactory, start_router: RouterFactory
) -> None:
    worker = start_engine()
    _, spec = start_router(worker_urls=[engine_url(worker)], request_timeout_secs=3)
    request = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "go"}], "stream": True}
    with RouterAdmin(spec.url) as admin:
        admin.wait_for_workers(1, timeout_s=30)
    lines: list[str] = []
    started = time.monotonic()
    error: Exception | None = None
    try:
        with httpx.stream("POST", spec.url + "/v1/chat/completions", json=request, timeout=30) as response:
            for line in response.iter_lines():
                if not lines:
                    worker.signal(signal.SIGSTOP)  # frozen mid-stream: socket open, nothing more comes
                lines.append(line)
    except httpx.HTTPError as exc:
        error = exc
    elapsed = time.monotonic() - started
    worker.signal(signal.SIGCONT)
    assert lines and lines[0].startswith("data: ")
    assert "data: [DONE]" not in lines, "the stream was not cut"
    assert elapsed < spec.request_timeout_secs + 2, f"stream closed after {elapsed:.1f}s"
    # The router closes the connection mid-body: the gateway turns this into an error event.
    assert isinstance(error, httpx.RemoteProtocolError)
