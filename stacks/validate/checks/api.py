"""The API contract: OpenAI-shaped models, chat (JSON and streamed), completions, embeddings and errors."""

from __future__ import annotations

import json
import time
from typing import Any

from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import CheckFailed, Outcome, failed, passed, skipped
from helixflow.stacks.validate.registry import check

NO_CACHE = {"Cache-Control": "no-cache"}


def model_name(ctx: Context) -> str:
    """The deployment's model, or the first one /v1/models lists."""

    def discover() -> str:
        if ctx.deployment.model:
            return ctx.deployment.model
        response = ctx.call("GET", "/v1/models")
        data = response.json().get("data") if response.status_code == 200 else None
        if not data:
            raise CheckFailed(f"cannot learn the model: /v1/models answered {response.status_code}")
        return str(data[0]["id"])

    return ctx.memo("model", discover)


def chat_body(ctx: Context, max_tokens: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "model": model_name(ctx),
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": max_tokens,
        **extra,
    }


def _json(response: Any, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise CheckFailed(f"{what} answered {response.status_code} with a body that is not JSON") from None


def _usage_ok(usage: Any) -> bool:
    return isinstance(usage, dict) and all(
        isinstance(usage.get(k), int) for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    )


@check("models", "api", critical=True, description="GET /v1/models lists the served model (OpenAI list shape)")
def models(ctx: Context) -> Outcome:
    response = ctx.call("GET", "/v1/models")
    body = _json(response, "/v1/models")
    if response.status_code != 200 or body.get("object") != "list" or not isinstance(body.get("data"), list):
        return failed(f"/v1/models answered {response.status_code}: {response.text[:150]}")
    ids = [str(m.get("id")) for m in body["data"]]
    wanted = ctx.deployment.model
    if wanted and wanted not in ids:
        return failed(f"model {wanted!r} is not listed (listed: {', '.join(ids)})")
    return passed(", ".join(ids))


@check("chat", "api", critical=True, description="POST /v1/chat/completions answers a message and its usage")
def chat(ctx: Context) -> Outcome:
    started = time.perf_counter()
    response = ctx.call("POST", "/v1/chat/completions", json=chat_body(ctx), headers=NO_CACHE)
    elapsed = (time.perf_counter() - started) * 1000
    body = _json(response, "chat")
    if response.status_code != 200:
        return failed(f"answered {response.status_code}: {response.text[:150]}")
    choices = body.get("choices") or [{}]
    if not isinstance(choices[0].get("message", {}).get("content"), str):
        return failed("no choices[0].message.content in the answer")
    if not _usage_ok(body.get("usage")):
        return failed(f"usage missing or incomplete: {body.get('usage')}")
    return passed(f"{elapsed:.0f} ms, {body['usage']['total_tokens']} tokens", ms=round(elapsed, 1))


@check(
    "chat-stream",
    "api",
    critical=True,
    description="Streamed chat: server-sent events with content deltas, usage in the last chunk, then [DONE]",
)
def chat_stream(ctx: Context) -> Outcome:
    body = chat_body(ctx, stream=True, stream_options={"include_usage": True})
    response = ctx.call("POST", "/v1/chat/completions", json=body)
    if response.status_code != 200:
        return failed(f"answered {response.status_code}: {response.text[:150]}")
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        return failed(f"content-type is {response.headers.get('content-type')!r}, not text/event-stream")
    events = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
    if not events or events[-1] != "[DONE]":
        return failed("the stream does not end with data: [DONE]")
    try:
        chunks = [json.loads(e) for e in events[:-1]]
    except ValueError:
        return failed("a data: line is not JSON")
    if not any(c.get("choices") and "delta" in c["choices"][0] for c in chunks):
        return failed("no chunk carries choices[0].delta")
    if not chunks or not _usage_ok(chunks[-1].get("usage")):
        return failed("the last chunk before [DONE] carries no usage (stream_options.include_usage)")
    return passed(f"{len(chunks)} chunks")


@check("completion", "api", critical=False, description="POST /v1/completions answers text and usage")
def completion(ctx: Context) -> Outcome:
    response = ctx.call(
        "POST",
        "/v1/completions",
        headers=NO_CACHE,
        json={"model": model_name(ctx), "prompt": "Once upon a time", "max_tokens": 4},
    )
    body = _json(response, "completions")
    if response.status_code != 200:
        return failed(f"answered {response.status_code}: {response.text[:150]}")
    if not isinstance((body.get("choices") or [{}])[0].get("text"), str) or not _usage_ok(body.get("usage")):
        return failed("no choices[0].text or no usage in the answer")
    return passed(f"{body['usage']['total_tokens']} tokens")


@check(
    "embeddings",
    "api",
    critical=False,
    description="POST /v1/embeddings answers vectors (skipped when the model does not embed)",
)
def embeddings(ctx: Context) -> Outcome:
    response = ctx.call("POST", "/v1/embeddings", json={"model": model_name(ctx), "input": "hello"})
    body = _json(response, "embeddings")
    if response.status_code in (400, 404, 501) and isinstance(body.get("error"), dict):
        return skipped(
            f"the model does not serve embeddings ({response.status_code}: {str(body['error'].get('message'))[:100]})"
        )
    if response.status_code != 200:
        return failed(f"answered {response.status_code}: {response.text[:150]}")
    vector = (body.get("data") or [{}])[0].get("embedding")
    if not isinstance(vector, list) or not vector:
        return failed("no data[0].embedding in the answer")
    return passed(f"{len(vector)} dimensions")


@check(
    "error-shape",
    "api",
    critical=False,
    description="An invalid request answers 400 with an OpenAI error object {error: {message, type}}",
)
def error_shape(ctx: Context) -> Outcome:
    response = ctx.call("POST", "/v1/chat/completions", json={"model": model_name(ctx), "messages": "not a list"})
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    if response.status_code != 400:
        return failed(f"answered {response.status_code}, not 400")
    if not isinstance(error, dict) or not isinstance(error.get("message"), str) or "type" not in error:
        return failed(f"the body is not an OpenAI error object: {response.text[:150]}")
    return passed(f"400 {error.get('type')}")
