"""The CPU engine over HTTP: SGLang's worker contract, OpenAI shapes, streaming, errors, metrics."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.processes import ManagedProcess

from .conftest import MODEL_NAME, EngineFactory, engine_url

CHAT = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "hello world"}], "temperature": 0}


@pytest.fixture
def url(shared_engine: ManagedProcess) -> str:
    return engine_url(shared_engine)


def sse_events(response: httpx.Response) -> Iterator[Any]:
    for line in response.iter_lines():
        if not line:
            continue
        assert line.startswith("data: "), line
        payload = line.removeprefix("data: ")
        yield payload if payload == "[DONE]" else orjson.loads(payload)


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exported")


def test_worker_contract_router_relies_on(url: str, tiny_model: Path) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health_generate").status_code == 200
        for path in ("/model_info", "/get_model_info"):
            info = client.get(path).json()
            assert info["model_path"] == str(tiny_model) and info["is_generation"] is True
        for path in ("/server_info", "/get_server_info"):
            info = client.get(path).json()
            assert info["served_model_name"] == MODEL_NAME and info["context_length"] == 512
        models = client.get("/v1/models").json()
        card = models["data"][0]
        assert models["object"] == "list" and card["id"] == MODEL_NAME
        assert isinstance(card["created"], int) and card["owned_by"] == "helixflow"


def test_chat_completion_counts_tokens_and_truncates_honestly(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        body = client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 8}).json()
        again = client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 8}).json()
    choice = body["choices"][0]
    assert body["object"] == "chat.completion" and body["model"] == MODEL_NAME
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"].strip()
    assert choice["finish_reason"] == "length"
    usage = body["usage"]
    assert usage["completion_tokens"] == 8 and usage["prompt_tokens"] > 3
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert again["choices"][0]["message"]["content"] == choice["message"]["content"], "greedy is deterministic"


def test_chat_stream_matches_non_stream_and_ends_with_usage(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        whole = client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 12}).json()
        request = {**CHAT, "max_tokens": 12, "stream": True, "stream_options": {"include_usage": True}}
        with client.stream("POST", "/v1/chat/completions", json=request) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = list(sse_events(response))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert text == whole["choices"][0]["message"]["content"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"


def test_completions_stream_and_not(url: str) -> None:
    request = {"model": MODEL_NAME, "prompt": "the model", "max_tokens": 6, "temperature": 0}
    with httpx.Client(base_url=url, timeout=30) as client:
        body = client.post("/v1/completions", json=request).json()
        with client.stream("POST", "/v1/completions", json={**request, "stream": True}) as response:
            events = list(sse_events(response))
    assert body["object"] == "text_completion" and body["usage"]["completion_tokens"] == 6
    streamed = "".join(e["choices"][0]["text"] for e in events[:-1])
    assert streamed == body["choices"][0]["text"] and events[-1] == "[DONE]"


def test_unicode_prompt_and_stop_strings(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        request = {**CHAT, "messages": [{"role": "user", "content": "héllo 世界 🚀"}], "max_tokens": 20}
        full = client.post("/v1/chat/completions", json=request).json()["choices"][0]["message"]["content"]
        assert full.isascii() and full.isprintable()
        stop = full[len(full) // 2 : len(full) // 2 + 3]
        cut = client.post("/v1/chat/completions", json={**request, "stop": [stop]}).json()["choices"][0]
    assert cut["finish_reason"] == "stop"
    assert cut["message"]["content"] == full[: full.index(stop)]


def test_official_openai_client(url: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL_NAME, messages=[{"role": "user", "content": "hi"}], max_tokens=5, stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/v1/chat/completions", {**CHAT, "model": "gpt-9"}, 404, "not found"),
        ("/v1/chat/completions", {"model": MODEL_NAME}, 400, "messages"),
        ("/v1/chat/completions", {**CHAT, "messages": []}, 400, "messages"),
        ("/v1/chat/completions", {**CHAT, "max_tokens": 100_000}, 400, "context length"),
        ("/v1/chat/completions", {**CHAT, "n": 2}, 400, "n must be 1"),
        ("/v1/chat/completions", {**CHAT, "temperature": 7}, 400, "temperature"),
        ("/v1/completions", {"model": MODEL_NAME, "prompt": "x " * 600}, 400, "context length"),
        ("/v1/completions", {"model": MODEL_NAME, "prompt": ["a", "b"]}, 400, "one prompt"),
    ],
)
def test_bad_requests_get_openai_errors(url: str, path: str, body: dict[str, Any], status: int, needle: str) -> None:
    response = httpx.post(url + path, json=body, timeout=10)
    assert response.status_code == status
    error = response.json()["error"]
    assert needle in error["message"] and set(error) == {"message", "type", "param", "code"}


def test_malformed_json_is_400(url: str) -> None:
    response = httpx.post(url + "/v1/chat/completions", content=b"{nope", timeout=10)
    assert response.status_code == 400 and "error" in response.json()


def test_concurrent_requests_queue_and_metrics_are_honest(url: str) -> None:
    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            request = {**CHAT, "max_tokens": 64, "stream": True, "stream_options": {"include_usage": True}}

            async def one() -> int:
                async with client.stream("POST", "/v1/chat/completions", json=request) as response:
                    lines = [line async for line in response.aiter_lines() if line.startswith("data: {")]
                return int(orjson.loads(lines[-1].removeprefix("data: "))["usage"]["completion_tokens"])

            tasks = [asyncio.create_task(one()) for _ in range(6)]
            await asyncio.sleep(0.02)
            # While six requests share one llama.cpp context, at most one runs and the rest queue.
            text = (await client.get("/metrics")).text
            assert metric(text, "sglang:num_running_reqs") <= 1
            return list(await asyncio.gather(*tasks))

    before = httpx.get(url + "/metrics").text
    assert asyncio.run(run()) == [64] * 6
    after = httpx.get(url + "/metrics").text
    assert metric(after, "sglang:num_requests_total") - metric(before, "sglang:num_requests_total") == 6
    assert metric(after, "sglang:generation_tokens_total") - metric(before, "sglang:generation_tokens_total") == 384
    assert metric(after, "sglang:time_to_first_token_seconds_count") >= 6
    assert metric(after, "sglang:num_queue_reqs") == 0 and metric(after, "sglang:num_running_reqs") == 0
    assert metric(after, "sglang:queue_time_seconds_sum") > 0


def test_client_going_away_cancels_its_generation(url: str) -> None:
    request = {**CHAT, "stream": True}  # no max_tokens: would run to the end of the context
    with httpx.Client(base_url=url, timeout=30) as client:
        with client.stream("POST", "/v1/chat/completions", json=request) as response:
            next(response.iter_lines())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            text = client.get("/metrics").text
            if metric(text, "sglang:num_aborted_requests_total") >= 1 and metric(text, "sglang:num_running_reqs") == 0:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the abandoned generation was not cancelled")
        started = time.monotonic()
        assert client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 4}).status_code == 200
        assert time.monotonic() - started < 2


def test_api_key_guards_everything_but_health_and_metrics(start_engine: EngineFactory) -> None:
    url = engine_url(start_engine(api_key="worker-key"))
    assert httpx.get(url + "/health").status_code == 200
    assert httpx.get(url + "/metrics").status_code == 200
    denied = httpx.post(url + "/v1/chat/completions", json=CHAT)
    assert denied.status_code == 401 and denied.json()["error"]["type"] == "authentication_error"
    assert httpx.get(url + "/model_info", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = httpx.post(
        url + "/v1/chat/completions", json={**CHAT, "max_tokens": 2}, headers={"Authorization": "Bearer worker-key"}
    )
    assert ok.status_code == 200


def test_missing_model_file_is_a_clean_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "helixflow.runtime.engine", "--model", str(tmp_path / "none.gguf"), "--port", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: model file not found")


def test_corrupt_model_file_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    done = subprocess.run(
        [sys.executable, "-m", "helixflow.runtime.engine", "--model", str(bad), "--port", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and done.stderr.startswith("error: cannot load"), done.stderr[-500:]
    assert "Traceback" not in done.stderr


def test_engine_is_ready_fast(start_engine: EngineFactory) -> None:
    started = time.monotonic()
    proc: ManagedProcess = start_engine()
    assert proc.running()
    # ~1.5 s on an idle 2-core machine (imports dominate; loading the model takes ~15 ms).
    assert time.monotonic() - started < 8


def test_sampling_is_random_unless_seeded(url: str) -> None:
    request = {**CHAT, "temperature": 1.5, "max_tokens": 24}
    with httpx.Client(base_url=url, timeout=30) as client:

        def text(**extra: object) -> str:
            body = client.post("/v1/chat/completions", json={**request, **extra}).json()
            return str(body["choices"][0]["message"]["content"])

        assert text(seed=7) == text(seed=7)
        # After a seeded request, unseeded ones must not inherit its seed.
        assert len({text() for _ in range(3)}) > 1, "unseeded sampling must differ between requests"
