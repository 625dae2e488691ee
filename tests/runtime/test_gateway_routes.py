"""The OpenAI-compatible surface: chat (JSON and SSE), completions, embeddings, models, errors, the SDK."""

from __future__ import annotations

import time

import httpx
import openai
import orjson
import pytest

from tests.runtime.helpers import MODEL, assert_openai_error, bearer, chat, chat_body, within
from tests.support.services import Service


def test_chat_completion_passes_through_with_request_id(gateway: Service, fake_pool: Service, admin_key: str) -> None:
    response = chat(gateway.url, admin_key, headers={"X-Request-ID": "my-request-42"})
    assert response.status_code == 200
    body = response.json()
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    assert response.headers["x-request-id"] == "my-request-42"
    assert httpx.get(fake_pool.url + "/_stats").json()["last_request_id"] == "my-request-42"
    generated = chat(gateway.url, admin_key, headers={"X-Request-ID": "bad id; DROP"})
    assert generated.headers["x-request-id"] != "bad id; DROP" and len(generated.headers["x-request-id"]) == 32


def sse_events(text: str) -> list[str]:
    return [e[len("data: "):] for e in text.split("\n\n") if e.startswith("data: ")]


def test_streaming_with_usage_in_the_final_chunk(gateway: Service, admin_key: str) -> None:
    body = chat_body(stream=True, stream_options={"include_usage": True})
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, headers=bearer(admin_key)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["usage"] is None for c in chunks[:-1])
    final = chunks[-1]
    usage = final["usage"]
    assert final["choices"] == [] and usage["completion_tokens"] == 5
    assert usage["total_tokens"] == usage["prompt_tokens"] + 5


def test_streaming_with_continuous_usage_when_the_client_asks(gateway: Service, admin_key: str) -> None:
    body = chat_body(stream=True, stream_options={"include_usage": True, "continuous_usage_stats": True})
    events = sse_events(httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=bearer(admin_key)).text)
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert [c["usage"]["completion_tokens"] for c in chunks] == [1, 2, 3, 4, 5, 5]


def test_streaming_without_include_usage_has_no_usage_chunk(gateway: Service, admin_key: str) -> None:
    r = httpx.post(gateway.url + "/v1/chat/completions", json=chat_body(stream=True), headers=bearer(admin_key))
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    assert all(orjson.loads(e)["choices"] for e in events[:-1])


def test_completions_embeddings_and_models(gateway: Service, admin_key: str) -> None:
    completion = httpx.post(gateway.url + "/v1/completions", json={"model": MODEL, "prompt": "Once"},
                            headers=bearer(admin_key))
    assert completion.status_code == 200 and completion.json()["choices"][0]["text"]
    embedding = httpx.post(gateway.url + "/v1/embeddings", json={"model": MODEL, "input": ["a", "b"]},
                           headers=bearer(admin_key))
    assert embedding.status_code == 200 and len(embedding.json()["data"]) == 2
    models = httpx.get(gateway.url + "/v1/models", headers=bearer(admin_key))
    assert [m["id"] for m in models.json()["data"]] == [MODEL]
    assert_openai_error(httpx.get(gateway.url + "/v1/models"), 401)


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": MODEL}, "messages"),
    ({"model": MODEL, "messages": []}, "messages"),
    ({"model": MODEL, "messages": ["hi"]}, "messages[0]"),
    ({"model": MODEL, "messages": [{"role": "user"}], "temperature": 7}, "temperature"),
    ({"model": MODEL, "messages": [{"role": "user"}], "stream": "yes"}, "stream"),
    ({"model": MODEL, "messages": [{"role": "user"}], "max_tokens": 0}, "max_tokens"),
])
def test_invalid_requests_are_400_with_the_param(gateway: Service, admin_key: str, body: dict[str, object],
                                                 param: str) -> None:
    response = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=bearer(admin_key))
    assert assert_openai_error(response, 400)["param"] == param


def test_non_json_and_oversized_bodies(gateway: Service, admin_key: str) -> None:
    r = httpx.post(gateway.url + "/v1/chat/completions", content=b"{nope", headers=bearer(admin_key))
    assert_openai_error(r, 400)
    r = httpx.post(gateway.url + "/v1/chat/completions", content=b"[1,2]", headers=bearer(admin_key))
    assert_openai_error(r, 400)
    big = b'{"model":"' + b"x" * (9 * 1024 * 1024) + b'"}'
    assert_openai_error(httpx.post(gateway.url + "/v1/embeddings", content=big, headers=bearer(admin_key)), 413)
    assert_openai_error(httpx.get(gateway.url + "/v1/chat/completions", headers=bearer(admin_key)), 405)


def test_unknown_model_is_404(gateway: Service, admin_key: str) -> None:
    response = httpx.post(gateway.url + "/v1/chat/completions", json={**chat_body(), "model": "gpt-7"},
                          headers=bearer(admin_key))
    assert assert_openai_error(response, 404)["code"] == "model_not_found"


def test_pool_failure_is_a_quick_503_with_retry_after(gateway: Service, fake_pool: Service, admin_key: str) -> None:
    httpx.post(fake_pool.url + "/_control", json={"fail_status": 503})
    try:
        response = chat(gateway.url, admin_key, content="pool down")
        assert_openai_error(response, 503)
        assert response.headers["retry-after"] == "1"
        streamed = httpx.post(gateway.url + "/v1/chat/completions", json=chat_body("pool down", stream=True),
                              headers=bearer(admin_key))
        assert_openai_error(streamed, 503)
    finally:
        httpx.post(fake_pool.url + "/_control", json={"fail_status": 0})


def test_pool_connection_refused_is_a_quick_503(base_env: dict[str, str], auth_service: Service,
                                                admin_key: str) -> None:
    from tests.support.processes import free_port

    env = {**base_env, "HELIXFLOW_POOL_URL": f"http://127.0.0.1:{free_port()}", "HELIXFLOW_AUTH_URL": auth_service.url}
    with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env) as lone:
        response = chat(lone.url, admin_key)
        assert_openai_error(response, 503)
        assert response.elapsed.total_seconds() < 1.0 and response.headers["retry-after"]
        health = httpx.get(lone.url + "/health")
        assert health.status_code == 503 and health.json()["checks"]["model_loading"]["healthy"] is False
        assert httpx.get(lone.url + "/health/ready").status_code == 503
        assert httpx.get(lone.url + "/health/live").status_code == 200


def test_the_openai_sdk_works_against_the_gateway(gateway: Service, admin_key: str) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=admin_key, max_retries=0)
    result = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert result.choices[0].message.content
    stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    vectors = client.embeddings.create(model=MODEL, input="hello")
    assert len(vectors.data[0].embedding) == 3
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=gateway.url + "/v1", api_key="hf_wrongkey_x" * 2, max_retries=0).models.list()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])


def test_health_and_metrics(gateway: Service, admin_key: str) -> None:
    health = httpx.get(gateway.url + "/health").json()
    assert health["status"] == "healthy"
    assert set(health["checks"]) == {"database", "redis", "model_loading", "memory_usage", "disk_space"}
    # Earlier tests' requests are folded into the shared files within a second: the count has settled once two
    # scrapes further apart than that agree (each check sleeps first, so no two samples are back to back).
    counts = [_count(gateway)]

    def settled() -> bool:
        time.sleep(1.5)
        counts.append(_count(gateway))
        return counts[-1] == counts[-2]

    within(6, settled, "a settled request count", interval=0)
    before = counts[-1]
    for _ in range(10):
        assert chat(gateway.url, admin_key).status_code == 200
    # Two worker processes answer; the scrape must count the requests of both, the other worker's within the
    # second it takes to fold its counts into the shared files.
    deadline = time.monotonic() + 3
    while _count(gateway) - before < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _count(gateway) - before == 10
    text = httpx.get(gateway.url + "/metrics").text
    for name in ("api_request_duration_seconds_bucket", "model_inference_seconds_bucket", "active_connections",
                 "helixflow_tokens_total", "helixflow_time_to_first_token_seconds"):
        assert name in text


def _count(gateway: Service) -> float:
    total = 0.0
    for line in httpx.get(gateway.url + "/metrics").text.splitlines():
        if line.startswith('api_requests_total{') and 'endpoint="/v1/chat/completions"' in line and \
                'status="200"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_one_json_log_line_per_request_without_secrets(gateway: Service, admin_key: str) -> None:
    assert chat(gateway.url, admin_key, headers={"X-Request-ID": "log-me-1"}).status_code == 200
    assert_openai_error(chat(gateway.url, admin_key + "x", headers={"X-Request-ID": "log-me-2"}), 401)
    time.sleep(0.3)
    log = gateway.log_tail(200_000)
    lines = [orjson.loads(line) for line in log.splitlines() if '"request_id":"log-me-' in line]
    # two worker processes each flush their own buffer, so the file's order between them is not the requests'
    assert sorted((line["request_id"], line["status"]) for line in lines) == [("log-me-1", 200), ("log-me-2", 401)]
    assert {"ts", "route", "latency_ms", "tenant", "model"} <= set(lines[0])
    assert lines[0]["tenant"] and admin_key not in log and admin_key[:20] not in log
