"""The OpenAI-compatible inference routes, on raw ASGI: authenticate, check quotas, serve from the cache
or proxy to the pool (JSON or SSE), account, measure, log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import orjson
from redis.exceptions import RedisError
from starlette.types import Message, Receive, Scope, Send

from helixflow.runtime.common.errors import ApiError, error_body
from helixflow.runtime.common.http_server import CANCEL_ON_DISCONNECT
from helixflow.runtime.common.tracing import traceparent
from helixflow.runtime.gateway.accounting import Exchange, checkpoint, record_usage, settle_unrecorded
from helixflow.runtime.gateway.cache import cache_key
from helixflow.runtime.gateway.http_io import clean_request_id, read_body, send_response
from helixflow.runtime.gateway.ids import uuid4_hex
from helixflow.runtime.gateway.protocol import (
    MAX_BODY_BYTES,
    InferenceRequest,
    chat_request,
    completion_request,
    embedding_request,
    parse_body,
    prompt_estimate,
)
from helixflow.runtime.gateway.quota_guard import may_fail_open, quota_unavailable
from helixflow.runtime.gateway.quotas import has_limits, has_token_limits
from helixflow.runtime.gateway.relay import StreamOutcome, relay_events
from helixflow.runtime.gateway.state import GatewayState
from helixflow.runtime.gateway.upstream import UpstreamError, UpstreamResponse
from helixflow.runtime.gateway.usage_extract import usage_from
from helixflow.runtime.security.roles import Permission

ROUTES: dict[str, tuple[str, Callable[[dict[str, object]], InferenceRequest]]] = {
    "/v1/chat/completions": ("chat_completions", chat_request),
    "/v1/completions": ("completions", completion_request),
    "/v1/embeddings": ("embeddings", embedding_request),
}
log = logging.getLogger("helixflow.gateway")
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
               (b"x-accel-buffering", b"no")]


def pool_unavailable(retry_after: bytes | None = None) -> ApiError:
    return ApiError(503, "the inference pool is unavailable, retry shortly", code="pool_unavailable",
                    headers={"Retry-After": (retry_after or b"1").decode("latin-1"), "x-should-retry": "true"})


async def handle_inference(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    path: str = scope["path"]
    endpoint, parse = ROUTES[path]
    authorization = request_id = cache_control = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-request-id":
            request_id = value.decode("latin-1")
        elif name in (b"cache-control", b"x-helixflow-cache"):
            cache_control = value.decode("latin-1").lower()
    ex = Exchange(endpoint, path, clean_request_id(request_id) or uuid4_hex())
    headers = [(b"x-request-id", ex.request_id.encode())]
    state.metrics.active_inc(1)
    try:
        if scope["method"] != "POST":
            raise ApiError(405, f"{path} accepts POST only", code="method_not_allowed")
        body = await read_body(receive, MAX_BODY_BYTES)
        ex.body_bytes = len(body)
        ex.principal = await state.authenticator.authenticate(authorization)
        ex.principal.require(Permission.inference)
        ex.request = request = parse(parse_body(body))
        if await state.catalog.known(request.model) is False:
            raise ApiError(404, f"the model '{request.model}' does not exist", code="model_not_found",
                           param="model")
        context = state.catalog.context_length(request.model) or state.settings.default_context_tokens
        if request.max_tokens and request.max_tokens > context:
            param = "max_tokens" if request.body.get("max_tokens") == request.max_tokens else "max_completion_tokens"
            raise ApiError(400, f"'{param}' must be at most {context}, the model's context length", param=param,
                           code="invalid_request")
        if has_limits(ex.principal):
            try:
                wanted = request.reservation(len(body), context) if has_token_limits(ex.principal) else 0
                quota_headers, ex.reservation = await state.quotas.reserve(ex.principal, wanted)
                headers += quota_headers
                if state.metrics.quota_failing_open:
                    state.metrics.set_quota_fail_open(False)
            except (RedisError, OSError) as err:
                if not may_fail_open(err):
                    raise quota_unavailable(err) from err
                # Fail open: an unreachable Redis must not take inference down with it.
                state.metrics.set_quota_fail_open(True)
                log.warning("quota check skipped, Redis unavailable: %s", type(err).__name__)
        bypass = cache_control in ("no-cache", "no-store", "bypass")
        disconnect = scope.get("extensions", {}).get(CANCEL_ON_DISCONNECT)
        if disconnect is not None:
            await _cancelled_by_server(state, ex, disconnect, body, bypass, headers, send)
        else:
            await _with_disconnect_watch(state, ex, receive, send, body, bypass, headers)
    except ApiError as err:
        ex.status = err.status
        if err.status == 429:
            state.metrics.rate_limited.labels(err.message.rsplit(": ", 1)[-1]).inc()
        if not ex.response_started:
            await send_response(send, err.status, err.body(),
                                headers + [(k.lower().encode(), v.encode()) for k, v in err.headers.items()
                                           if k.lower() != "x-request-id"])
    except ConnectionError:
        ex.status = 499
    except asyncio.CancelledError:
        ex.status = 499  # the client left, or the server is stopping
        raise
    except Exception:  # the boundary: an OpenAI-shaped 500 and a log line, never a bare traceback page
        log.exception("unexpected error serving %s", ex.request_id)
        ex.status = 500
        if not ex.response_started:
            await send_response(send, 500, error_body(500, "internal error", code="internal_error"), headers)
    finally:
        settle_unrecorded(state, ex)
        state.metrics.active_inc(-1)
        _observe(state, ex, scope["method"])


async def _cancelled_by_server(state: GatewayState, ex: Exchange, disconnect: dict[str, object], body: bytes,
                               bypass: bool, headers: list[tuple[bytes, bytes]], send: Send) -> None:
    """Serves the request under HelixFlow's server, which cancels this task itself when the client leaves (and
    says so in ``disconnect``): no watcher task per request."""
    try:
        await _serve(state, ex, body, bypass, headers, send)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if not disconnect.get("disconnected") or task is None:
            await _record_interrupted(state, ex)
            raise
        task.uncancel()
        ex.disconnected = True
        ex.status = 499
        await record_usage(state, ex, status="cancelled", status_code=499)


async def _record_interrupted(state: GatewayState, ex: Exchange) -> None:
    """The server is stopping and cancelled the request: what was sent is recorded before it goes."""
    if not ex.settled and ex.tally is not None:
        await record_usage(state, ex, status="interrupted", status_code=503,
                           error="the gateway stopped before the stream ended")


async def _with_disconnect_watch(state: GatewayState, ex: Exchange, receive: Receive, send: Send, body: bytes,
                                 bypass: bool, headers: list[tuple[bytes, bytes]]) -> None:
    """Serves the request under any ASGI server; if the client disconnects meanwhile, cancels it (and with it the
    upstream call)."""
    task = asyncio.current_task()
    assert task is not None
    complete = False

    async def tracked_send(message: Message) -> None:
        nonlocal complete
        # The server reports a disconnect once the response is complete; that one must not cancel anything.
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            complete = True
        await send(message)

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not complete:
            ex.disconnected = True
            task.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await _serve(state, ex, body, bypass, headers, tracked_send)
    except asyncio.CancelledError:
        if not ex.disconnected:
            await _record_interrupted(state, ex)
            raise
        task.uncancel()
        ex.status = 499
        await record_usage(state, ex, status="cancelled", status_code=499)
    finally:
        watcher.cancel()


async def _serve(state: GatewayState, ex: Exchange, body: bytes, bypass: bool, headers: list[tuple[bytes, bytes]],
                 send: Send) -> None:
    request = ex.request
    principal = ex.principal
    assert request is not None and principal is not None
    key = None
    if state.cache is not None and request.deterministic:
        if bypass:
            ex.cache = "bypass"
        else:
            key = cache_key(principal.tenant_id, ex.endpoint, request.body)
            hit = await state.cache.get(key)
            ex.cache = "hit" if hit is not None else "miss"
            state.metrics.child(state.metrics.cache, ex.cache).inc(1)
            if hit is not None:
                ex.usage = usage_from(orjson.loads(hit))
                await record_usage(state, ex, status="completed", status_code=200, cached=True)
                ex.status = 200
                await send_response(send, 200, hit, [*headers, (b"x-helixflow-cache", b"hit")])
                return
        headers = [*headers, (b"x-helixflow-cache", ex.cache.encode())]
    if request.stream:
        await _stream(state, ex, headers, send)
    else:
        await _unary(state, ex, body, key, headers, send)


async def _call_pool(state: GatewayState, ex: Exchange, body: bytes) -> UpstreamResponse:
    headers = [("X-Request-ID", ex.request_id)]
    if state.tracer is not None:
        with state.tracer.start_as_current_span(
            "pool " + ex.endpoint,
            attributes={"helixflow.request_id": ex.request_id, "helixflow.model": ex.request.model
                        if ex.request else "", "helixflow.tenant": ex.principal.tenant_id if ex.principal else ""},
        ) as span:
            parent = traceparent(span)
            if parent:
                headers.append(("traceparent", parent))
            return await _send_to_pool(state, ex, body, headers)
    return await _send_to_pool(state, ex, body, headers)


async def _send_to_pool(state: GatewayState, ex: Exchange, body: bytes,
                        headers: list[tuple[str, str]]) -> UpstreamResponse:
    try:
        return await state.upstream.request("POST", ex.path, body, headers=headers)
    except UpstreamError as err:
        state.metrics.upstream_errors.labels(err.kind).inc()
        raise pool_unavailable() from err


async def _refuse_upstream_error(state: GatewayState, ex: Exchange, response: UpstreamResponse, data: bytes) -> None:
    """A non-200 answer from the pool: 5xx becomes a quick 503; 4xx passes through in OpenAI's shape."""
    if response.status >= 500:
        state.metrics.upstream_errors.labels(f"status_{response.status}").inc()
        raise pool_unavailable(response.header(b"retry-after"))
    message = "the pool refused the request"
    try:
        parsed = orjson.loads(data)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        message = str(error.get("message") if isinstance(error, dict) else error or parsed.get("message", message))
    except (orjson.JSONDecodeError, AttributeError):
        pass
    await record_usage(state, ex, status="failed", status_code=response.status, error=message[:500])
    raise ApiError(response.status if response.status < 500 else 502, message)


async def _unary(state: GatewayState, ex: Exchange, body: bytes, key: str | None,
                 headers: list[tuple[bytes, bytes]], send: Send) -> None:
    request = ex.request
    assert request is not None
    sent_at = time.perf_counter()
    response = await _call_pool(state, ex, body)
    try:
        data = await response.read()
    except UpstreamError as err:
        state.metrics.upstream_errors.labels(err.kind).inc()
        raise pool_unavailable() from err
    finally:
        response.release()
    if response.status != 200:
        await _refuse_upstream_error(state, ex, response, data)
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise ApiError(502, "the pool sent an invalid response", code="bad_gateway") from err
    metrics = state.metrics
    metrics.child(metrics.inference, request.model, str(request.batch_size)).observe(time.perf_counter() - sent_at)
    ex.usage = usage_from(parsed) if isinstance(parsed, dict) else ex.usage
    await record_usage(state, ex, status="completed", status_code=200, response=parsed)
    if key is not None and state.cache is not None:
        await state.cache.put(key, data)
    ex.status = 200
    await send_response(send, 200, data, headers)


async def _stream(state: GatewayState, ex: Exchange, headers: list[tuple[bytes, bytes]], send: Send) -> None:
    request = ex.request
    assert request is not None
    body = dict(request.body)
    options = body.get("stream_options")
    # The usage so far in every event (SGLang, vLLM): what a stream that ends early is billed for.
    body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True,
                              "continuous_usage_stats": True}
    sent_at = time.perf_counter()
    response = await _call_pool(state, ex, orjson.dumps(body))
    try:
        if response.status != 200:
            try:
                data = await response.read()
            except UpstreamError as err:
                raise pool_unavailable() from err
            await _refuse_upstream_error(state, ex, response, data)
        # The record exists before the first token goes out: a gateway killed mid-stream leaves it behind.
        ex.tally = outcome = StreamOutcome(prompt_estimate(ex.body_bytes))
        await record_usage(state, ex, status="pending", status_code=0)
        await send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *headers]})
        ex.response_started = True
        ex.status = 200

        async def send_body(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        error: str | None = None
        try:
            await relay_events(response, send_body, request.wants_usage_chunk, outcome,
                               lambda tally: checkpoint(state, ex, tally), request.wants_continuous_usage)
        except UpstreamError as err:
            state.metrics.upstream_errors.labels(err.kind).inc()
            error = str(err)
            await send_body(b"data: " + error_body(503, "the inference pool failed mid-stream") + b"\n\n")
        else:
            if outcome.first_token_at is not None:
                state.metrics.child(state.metrics.ttft, request.model).observe(outcome.first_token_at - sent_at)
            state.metrics.child(state.metrics.inference, request.model, str(request.batch_size)).observe(
                time.perf_counter() - sent_at)
            if not outcome.finished:
                error = "the stream ended without [DONE]"
    finally:
        response.release()
    # [DONE] goes out only after the usage record is stored, so a client that saw it is accounted for.
    await record_usage(state, ex, status="failed" if error else "completed", status_code=502 if error else 200,
                       error=error)
    await send({"type": "http.response.body", "body": b"" if error else b"data: [DONE]\n\n", "more_body": False})


def _observe(state: GatewayState, ex: Exchange, method: str) -> None:
    elapsed = time.perf_counter() - ex.started
    metrics = state.metrics
    metrics.child(metrics.requests, method, ex.path, str(ex.status)).inc(1)
    metrics.child(metrics.duration, method, ex.path).observe(elapsed)
    if ex.usage.total and ex.request is not None:
        metrics.child(metrics.tokens, ex.request.model, "prompt").inc(ex.usage.prompt_tokens)
        metrics.child(metrics.tokens, ex.request.model, "completion").inc(ex.usage.completion_tokens)
    if state.log_line is not None:
        fields = {"ts": round(time.time(), 3), "request_id": ex.request_id, "method": method, "route": ex.path,
                  "status": ex.status, "latency_ms": round(elapsed * 1000, 2),
                  "tenant": ex.principal.tenant_id if ex.principal else None,
                  "model": ex.request.model if ex.request else None, "tokens": ex.usage.total,
                  "cache": ex.cache or None}
        state.log_line(orjson.dumps(fields) + b"\n")
