"""Quotas (429 + headers), the response cache, and usage rows with tokens and cost."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg

from tests.runtime.helpers import MODEL, admin_post, assert_openai_error, bearer, chat, new_tenant
from tests.support.clock import avoid_minute_boundary
from tests.support.postgres import PostgresServer
from tests.support.services import Service


def rows(postgres: PostgresServer, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(postgres.url) as db:
        return db.execute(sql, params).fetchall()  # type: ignore[arg-type]


def wait_for_rows(postgres: PostgresServer, sql: str, params: tuple[Any, ...], count: int,
                  timeout: float = 10) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + timeout
    while True:
        found = rows(postgres, sql, *params)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_requests_per_minute_limit(gateway: Service, auth_service: Service, admin_key: str) -> None:
    avoid_minute_boundary()
    people = new_tenant(auth_service.url, admin_key, requests_per_minute=3)
    key = people["user"]["key"]
    answers = [chat(gateway.url, key) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].headers["x-ratelimit-limit-requests"] == "3"
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0"]
    refused = chat(gateway.url, key)
    assert assert_openai_error(refused, 429)["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    # The limit is the tenant's: another key of the same tenant is refused too; other tenants are not.
    assert_openai_error(chat(gateway.url, people["operator"]["key"]), 429)
    other = new_tenant(auth_service.url, admin_key, requests_per_minute=3)
    assert chat(gateway.url, other["user"]["key"]).status_code == 200


def spend_until_refused(gateway: Service, key: str) -> tuple[int, httpx.Response]:
    """Small requests until one is refused; the tokens the answered ones used, and the refusal."""
    used = 0
    for _ in range(100):
        answer = chat(gateway.url, key, max_tokens=5)
        if answer.status_code != 200:
            return used, answer
        used += answer.json()["usage"]["total_tokens"]
    raise AssertionError(f"{used} tokens and no refusal")


def test_tokens_per_minute_and_monthly_budget_hold(gateway: Service, auth_service: Service, admin_key: str) -> None:
    avoid_minute_boundary()
    per_minute = new_tenant(auth_service.url, admin_key, tokens_per_minute=120)
    used, refused = spend_until_refused(gateway, per_minute["user"]["key"])
    assert "tokens_per_minute" in assert_openai_error(refused, 429)["message"]
    assert refused.headers["x-ratelimit-limit-tokens"] == "120"
    # Each request reserves its prompt and max_tokens before it runs and settles to what it used: the last
    # one that fitted is answered, the next is refused before it can go over (it used to be let through).
    assert 0 < used <= 120
    assert 0 <= int(refused.headers["x-ratelimit-remaining-tokens"]) == 120 - used
    monthly = new_tenant(auth_service.url, admin_key, monthly_token_budget=100)
    used, refused = spend_until_refused(gateway, monthly["user"]["key"])
    assert "monthly_token_budget" in assert_openai_error(refused, 429)["message"]
    assert 0 < used <= 100
    assert int(refused.headers["retry-after"]) > 60


def test_concurrent_requests_cannot_overshoot_a_token_budget(gateway: Service, auth_service: Service,
                                                             admin_key: str, fake_pool: Service,
                                                             postgres: PostgresServer) -> None:
    avoid_minute_boundary()
    import concurrent.futures

    people = new_tenant(auth_service.url, admin_key, tokens_per_minute=100)
    key = people["user"]["key"]

    def stream(_: int) -> int:
        with httpx.stream("POST", gateway.url + "/v1/chat/completions", headers=bearer(key), timeout=30,
                          json={"model": MODEL, "stream": True, "max_tokens": 5,
                                "messages": [{"role": "user", "content": "share"}]}) as response:
            response.read()
            return response.status_code

    httpx.post(fake_pool.url + "/_control", json={"token_delay": 0.1})  # all of them in flight at once
    try:
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(stream, range(20)))
    finally:
        httpx.post(fake_pool.url + "/_control", json={"token_delay": 0})
    assert set(statuses) == {200, 429}
    found = wait_for_rows(postgres, "SELECT tokens_used FROM requests WHERE tenant_id = %s",
                          (people["tenant"]["id"],), statuses.count(200))
    assert len(found) == statuses.count(200)
    # 20 requests checked at once used to pass together: 20 x 7 tokens against a budget of 100.
    assert sum(r[0] for r in found) <= 100


def test_n_and_max_tokens_are_capped(gateway: Service, auth_service: Service, admin_key: str) -> None:
    key = new_tenant(auth_service.url, admin_key)["user"]["key"]
    context = 4096  # the fake pool's model card says max_model_len 4096
    assert chat(gateway.url, key, max_tokens=context).status_code == 200
    for field, value in (("max_tokens", context + 1), ("max_completion_tokens", 10**9), ("n", 10_000)):
        refused = assert_openai_error(chat(gateway.url, key, **{field: value}), 400)
        assert refused["param"] == field


def test_a_token_issued_for_a_key_keeps_the_keys_limits(gateway: Service, auth_service: Service,
                                                         admin_key: str) -> None:
    avoid_minute_boundary()
    people = new_tenant(auth_service.url, admin_key)
    limited = admin_post(auth_service.url, admin_key, "/admin/keys",
                         {"user_id": people["user"]["user"]["id"], "requests_per_minute": 3})
    issued = httpx.post(auth_service.url + "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": limited["prefix"], "client_secret": limited["api_key"]})
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert [chat(gateway.url, token).status_code for _ in range(2)] == [200, 200]
    assert chat(gateway.url, limited["api_key"]).status_code == 200  # the key and its tokens share one count
    assert "key_requests_per_minute" in assert_openai_error(chat(gateway.url, token), 429)["message"]


def test_per_key_limit(gateway: Service, auth_service: Service, admin_key: str) -> None:
    avoid_minute_boundary()
    people = new_tenant(auth_service.url, admin_key)
    limited = admin_post(auth_service.url, admin_key, "/admin/keys",
                         {"user_id": people["user"]["user"]["id"], "requests_per_minute": 2})
    assert [chat(gateway.url, limited["api_key"]).status_code for _ in range(3)] == [200, 200, 429]
    assert chat(gateway.url, people["user"]["key"]).status_code == 200


def test_quotas_are_atomic_under_concurrency(gateway: Service, auth_service: Service, admin_key: str) -> None:
    avoid_minute_boundary()
    import concurrent.futures

    people = new_tenant(auth_service.url, admin_key, requests_per_minute=10)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: chat(gateway.url, people["user"]["key"]).status_code, range(30)))
    assert statuses.count(200) == 10 and statuses.count(429) == 20


def test_deterministic_requests_are_cached_per_tenant(gateway: Service, auth_service: Service, admin_key: str,
                                                      fake_pool: Service) -> None:
    a, b = new_tenant(auth_service.url, admin_key), new_tenant(auth_service.url, admin_key)
    before = httpx.get(fake_pool.url + "/_stats").json()["requests"]
    first = chat(gateway.url, a["user"]["key"], content="cache me", temperature=0)
    second = chat(gateway.url, a["user"]["key"], content="cache me", temperature=0)
    assert first.headers["x-helixflow-cache"] == "miss" and second.headers["x-helixflow-cache"] == "hit"
    assert first.json() == second.json()
    assert httpx.get(fake_pool.url + "/_stats").json()["requests"] == before + 1
    other_tenant = chat(gateway.url, b["user"]["key"], content="cache me", temperature=0)
    assert other_tenant.headers["x-helixflow-cache"] == "miss"
    bypass = chat(gateway.url, a["user"]["key"], content="cache me", temperature=0,
                  headers={"Cache-Control": "no-cache"})
    assert bypass.headers["x-helixflow-cache"] == "bypass"
    sampled = chat(gateway.url, a["user"]["key"], content="cache me", temperature=0.7)
    assert "x-helixflow-cache" not in sampled.headers
    seeded = [chat(gateway.url, a["user"]["key"], content="seeded", seed=7) for _ in range(2)]
    assert [s.headers["x-helixflow-cache"] for s in seeded] == ["miss", "hit"]
    metrics = httpx.get(gateway.url + "/metrics").text
    assert 'helixflow_cache_requests_total{result="hit"}' in metrics


def test_usage_rows_with_tokens_and_cost(gateway: Service, auth_service: Service, admin_key: str,
                                         postgres: PostgresServer) -> None:
    price = httpx.put(auth_service.url + f"/admin/prices/{MODEL}", headers=bearer(admin_key),
                      json={"prompt_per_million": 1000.0, "completion_per_million": 2000.0})
    assert price.status_code == 200, price.text
    people = new_tenant(auth_service.url, admin_key)
    key = people["user"]["key"]
    answers = [chat(gateway.url, key, content=f"usage {i}", headers={"X-Request-ID": f"usage-{i}"})
               for i in range(3)]
    stream = httpx.post(gateway.url + "/v1/chat/completions", headers=bearer(key),
                        json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "s"}]})
    assert stream.status_code == 200
    found = wait_for_rows(postgres, "SELECT client_request_id, prompt_tokens, completion_tokens, tokens_used, "
                          "cost::float8, status, user_id::text, api_key_id::text, latency_ms, messages::text "
                          "FROM requests WHERE tenant_id = %s AND status <> 'pending' ORDER BY created_at",
                          (people["tenant"]["id"],), 4)
    assert len(found) == 4
    for row, answer in zip(found[:3], answers, strict=True):
        usage = answer.json()["usage"]
        assert row[0] == answer.headers["x-request-id"]
        assert (row[1], row[2], row[3]) == (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"])
        assert abs(row[4] - (row[1] * 1000 + row[2] * 2000) / 1e6) < 1e-9
        assert row[5] == "completed" and row[6] == people["user"]["user"]["id"]
        assert row[7] == people["user"]["key_id"] and row[8] > 0
        assert row[9] == "[]"  # the tenant does not store content
    assert found[3][2] == 5 and found[3][5] == "completed"  # the stream's usage came from its final chunk
    report = httpx.get(auth_service.url + "/admin/usage", headers=bearer(people["viewer"]["key"])).json()
    assert report["total_requests"] == 4 and report["models"][0]["model"] == MODEL
    assert abs(report["total_cost"] - sum(r[4] for r in found)) < 1e-6


def test_content_is_stored_only_when_the_tenant_opts_in(gateway: Service, auth_service: Service, admin_key: str,
                                                        postgres: PostgresServer) -> None:
    people = new_tenant(auth_service.url, admin_key, store_content=True)
    assert chat(gateway.url, people["user"]["key"], content="remember me").status_code == 200
    found = wait_for_rows(postgres, "SELECT messages::text, response::text FROM requests WHERE tenant_id = %s",
                          (people["tenant"]["id"],), 1)
    assert "remember me" in found[0][0] and "one two three" in found[0][1]


def test_client_disconnect_cancels_the_upstream_stream(gateway: Service, fake_pool: Service, admin_key: str,
                                                       auth_service: Service, postgres: PostgresServer) -> None:
    people = new_tenant(auth_service.url, admin_key)
    httpx.post(fake_pool.url + "/_control", json={"token_delay": 0.5})
    try:
        before = httpx.get(fake_pool.url + "/_stats").json()["streams_cancelled"]
        with httpx.stream("POST", gateway.url + "/v1/chat/completions", headers=bearer(people["user"]["key"]),
                          json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "x"}]}) as r:
            for _ in r.iter_bytes():
                break  # read the first chunk, then hang up
        deadline = time.monotonic() + 5
        while httpx.get(fake_pool.url + "/_stats").json()["streams_cancelled"] == before:
            assert time.monotonic() < deadline, "the upstream stream was not cancelled"
            time.sleep(0.1)
    finally:
        httpx.post(fake_pool.url + "/_control", json={"token_delay": 0})
    # A stream's row is pending until it is settled (it exists from the stream's start).
    found = wait_for_rows(postgres, "SELECT status FROM requests WHERE tenant_id = %s AND status <> 'pending'",
                          (people["tenant"]["id"],), 1)
    assert found == [("cancelled",)]
