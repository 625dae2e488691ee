"""A stream is billed for what was sent, however it ends: the client hangs up, the pool breaks off, the gateway
is stopped, or the gateway is killed (SIGKILL) in the middle of it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.runtime.helpers import MODEL, bearer, chat, new_tenant
from tests.runtime.test_quotas_cache_usage import wait_for_rows
from tests.support.clock import avoid_minute_boundary
from tests.support.postgres import PostgresServer
from tests.support.services import Service

ROW = ("SELECT status, status_code, prompt_tokens, completion_tokens FROM requests "
       "WHERE tenant_id = %s AND status <> 'pending'")


@contextlib.contextmanager
def pool_control(fake_pool: Service, **control: Any) -> Iterator[None]:
    defaults = {"token_delay": 0, "stream_tokens": 5, "break_after": 0, "continuous_usage": True}
    httpx.post(fake_pool.url + "/_control", json={**defaults, **control})
    try:
        yield
    finally:
        httpx.post(fake_pool.url + "/_control", json=defaults)


def read_events(url: str, key: str, content_events: int, **body: Any) -> list[dict[str, Any]]:
    """Streams a chat completion, reads ``content_events`` events with content, then hangs up."""
    seen: list[dict[str, Any]] = []
    with httpx.stream("POST", url + "/v1/chat/completions", headers=bearer(key), timeout=30,
                      json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "bill me"}],
                            **body}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: {"):
                event = orjson.loads(line[6:])
                if event.get("choices"):
                    seen.append(event)
            if len(seen) >= content_events:
                break
    return seen


def remaining_tokens(gateway: Service, key: str) -> tuple[int, int]:
    """The tenant's remaining tokens before a small request (the header), and that request's tokens."""
    answer = chat(gateway.url, key, max_tokens=5)
    assert answer.status_code == 200, answer.text
    return int(answer.headers["x-ratelimit-remaining-tokens"]), answer.json()["usage"]["total_tokens"]


@pytest.mark.parametrize("continuous", [True, False], ids=["pool-reports-usage", "gateway-counts-chunks"])
def test_an_abandoned_stream_is_billed_and_counted_against_the_quota(
        gateway: Service, fake_pool: Service, auth_service: Service, admin_key: str, postgres: PostgresServer,
        continuous: bool) -> None:
    avoid_minute_boundary()
    people = new_tenant(auth_service.url, admin_key, tokens_per_minute=100_000)
    key = people["user"]["key"]
    before, probe = remaining_tokens(gateway, key)
    with pool_control(fake_pool, token_delay=0.3, stream_tokens=20, continuous_usage=continuous):
        seen = read_events(gateway.url, key, 3, max_tokens=20)
        found = wait_for_rows(postgres, ROW + " AND status = 'cancelled'", (people["tenant"]["id"],), 1)
    assert len(found) == 1, found
    status, code, prompt, completion = found[0]
    assert (status, code) == ("cancelled", 499)
    assert 3 <= completion <= 5, f"{len(seen)} chunks were sent, {completion} completion tokens billed"
    # The pool said how long the prompt was in its first chunk, or else it is estimated from the request's size:
    # a long prompt is not prefilled for free by hanging up after the first token.
    assert prompt > 0
    # The tokens count against the tenant's quota too (today a hang-up before [DONE] was free).
    after, _ = remaining_tokens(gateway, key)
    assert before - after - probe >= prompt + completion


def test_a_stream_the_pool_breaks_off_is_billed_for_what_was_sent(
        gateway: Service, fake_pool: Service, auth_service: Service, admin_key: str, postgres: PostgresServer) -> None:
    people = new_tenant(auth_service.url, admin_key)
    with pool_control(fake_pool, stream_tokens=10, break_after=4):
        response = httpx.post(gateway.url + "/v1/chat/completions", headers=bearer(people["user"]["key"]),
                              json={"model": MODEL, "stream": True, "max_tokens": 10,
                                    "messages": [{"role": "user", "content": "x"}]}, timeout=10)
    assert response.status_code == 200 and "failed mid-stream" in response.text
    found = wait_for_rows(postgres, ROW, (people["tenant"]["id"],), 1)
    assert [(r[0], r[3]) for r in found] == [("failed", 4)]


@pytest.fixture
def own_gateway(base_env: dict[str, str], fake_pool: Service, auth_service: Service) -> Iterator[Service]:
    """A gateway of this test's own (one worker, quick checkpoints and claims), killed or stopped by the test."""
    env = {**base_env, "HELIXFLOW_POOL_URL": fake_pool.url, "HELIXFLOW_AUTH_URL": auth_service.url,
           "HELIXFLOW_USAGE_CHECKPOINT_SECONDS": "0.2", "HELIXFLOW_USAGE_CLAIM_IDLE_MS": "1000",
           "HELIXFLOW_LOG_REQUESTS": "false"}
    service = Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env).start()
    try:
        yield service
    finally:
        service.stop()


def _restart(service: Service) -> None:
    """Start it again on the same port: its drainer moves what the old process left on the stream."""
    service.process = None
    service.start()


def test_a_gateway_killed_mid_stream_leaves_the_row_with_the_tokens_sent(
        own_gateway: Service, fake_pool: Service, auth_service: Service, admin_key: str,
        postgres: PostgresServer) -> None:
    people = new_tenant(auth_service.url, admin_key)
    with pool_control(fake_pool, token_delay=0.3, stream_tokens=40):
        seen: list[dict[str, Any]] = []
        with httpx.stream("POST", own_gateway.url + "/v1/chat/completions", headers=bearer(people["user"]["key"]),
                          json={"model": MODEL, "stream": True, "max_tokens": 40,
                                "messages": [{"role": "user", "content": "x"}]}, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith("data: {") and orjson.loads(line[6:]).get("choices"):
                    seen.append(orjson.loads(line[6:]))
                if len(seen) >= 6:
                    time.sleep(0.5)  # a checkpoint goes out at least every 0.2 s
                    own_gateway.kill()
                    break
    _restart(own_gateway)
    found = wait_for_rows(postgres, "SELECT status, completion_tokens FROM requests WHERE tenant_id = %s",
                          (people["tenant"]["id"],), 1)
    assert len(found) == 1, "the killed gateway's stream left no usage row"
    status, completion = found[0]
    assert status == "pending"  # never settled: the row says so, with the tokens of its last checkpoint
    assert completion >= 6


def test_a_gateway_stopped_mid_stream_settles_the_row(own_gateway: Service, fake_pool: Service,
                                                       auth_service: Service, admin_key: str,
                                                       postgres: PostgresServer) -> None:
    people = new_tenant(auth_service.url, admin_key)
    assert own_gateway.process is not None
    with pool_control(fake_pool, token_delay=0.5, stream_tokens=60):
        with httpx.stream("POST", own_gateway.url + "/v1/chat/completions", headers=bearer(people["user"]["key"]),
                          json={"model": MODEL, "stream": True, "max_tokens": 60,
                                "messages": [{"role": "user", "content": "x"}]}, timeout=30) as response:
            lines = response.iter_lines()
            for line in lines:
                if line.startswith("data: {"):
                    os.kill(own_gateway.process.pid, signal.SIGTERM)  # graceful: 10 s, then it cancels the rest
                    break
            with contextlib.suppress(httpx.HTTPError):
                for _ in lines:
                    pass
        own_gateway.process.wait(30)
    _restart(own_gateway)
    found = wait_for_rows(postgres, ROW, (people["tenant"]["id"],), 1)
    assert len(found) == 1, "the stopped gateway did not settle its stream"
    status, _, _, completion = found[0]
    assert status in ("interrupted", "cancelled") and completion >= 15
