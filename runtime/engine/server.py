"""HTTP server for the CPU engine: SGLang's worker contract in front of llama.cpp.

sglang-router registers a worker by calling `/health`, `/model_info` and
`/server_info`, scrapes `/metrics`, and forwards the OpenAI routes; all of them
are answered here with the same shapes as SGLang's server.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from helixflow.runtime.engine.core import EngineError, GenerationStats, LlamaEngine, SamplingParams
from helixflow.runtime.engine.protocol import ChatCompletionRequest, CompletionRequest

ENGINE_VERSION = "helixflow-cpu-0.1"


@dataclass(frozen=True)
class EngineSettings:
    model_path: Path
    served_model_name: str
    threads: int
    context_length: int = 0
    api_key: str | None = None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def openai_error(status: int, message: str, kind: str, code: str | None = None, param: str | None = None) -> Response:
    return _json({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


def create_app(settings: EngineSettings, engine: LlamaEngine | None = None) -> FastAPI:
    """The engine's ASGI app; the model is loaded in the lifespan (RuntimeError if it cannot be)."""
    engine = engine or LlamaEngine(
        settings.model_path,
        settings.served_model_name,
        threads=settings.threads,
        context_length=settings.context_length,
    )
    created = int(time.time())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine.load()
        try:
            yield
        finally:
            engine.close()

    app = FastAPI(title="HelixFlow CPU engine", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return openai_error(
            400, f"{where}: {first.get('msg', 'invalid request')}", "invalid_request_error", param=where
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> Response:
        kind = "authentication_error" if exc.status_code == 401 else "invalid_request_error"
        return openai_error(exc.status_code, str(exc.detail), kind)

    @app.exception_handler(EngineError)
    async def _bad(_: Request, exc: EngineError) -> Response:
        return openai_error(400, str(exc), "invalid_request_error")

    async def require_key(authorization: Annotated[str | None, Header()] = None) -> None:
        if settings.api_key is None:
            return
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.api_key.encode()):
            raise HTTPException(401, "invalid or missing API key")

    open_routes = APIRouter()
    routes = APIRouter(dependencies=[Depends(require_key)])

    @open_routes.get("/health")
    @open_routes.get("/ready")
    async def health() -> Response:
        return Response(status_code=200)

    @open_routes.get("/health_generate")
    async def health_generate() -> Response:
        # A real one-token generation through the queue, like SGLang's.
        stats = GenerationStats()
        tokens = engine.prepare_text("health")
        async for _ in engine.generate(tokens, SamplingParams(max_tokens=1, temperature=0.0), stats):
            pass
        return Response(status_code=200)

    @open_routes.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(engine.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @routes.get("/model_info")
    @routes.get("/get_model_info")
    async def model_info() -> Response:
        arch = engine.architecture
        return _json(
            {
                "model_path": str(settings.model_path),
                "tokenizer_path": str(settings.model_path),
                "is_generation": True,
                "preferred_sampling_params": None,
                "weight_version": "default",
                "has_image_understanding": False,
                "has_audio_understanding": False,
                "model_type": arch,
                "architectures": [f"{arch.capitalize()}ForCausalLM"],
            }
        )

    @routes.get("/server_info")
    @routes.get("/get_server_info")
    async def server_info() -> Response:
        return _json(
            {
                "model_path": str(settings.model_path),
                "served_model_name": settings.served_model_name,
                "tokenizer_path": str(settings.model_path),
                "context_length": engine.context_length,
                "tp_size": 1,
                "dp_size": 1,
                "max_running_requests": 1,
                "device": "cpu",
                "threads": settings.threads,
                "engine": "llama.cpp",
                "version": ENGINE_VERSION,
                "internal_states": [{"max_total_num_tokens": engine.context_length}],
            }
        )

    @routes.get("/v1/models")
    async def models() -> Response:
        card = {
            "id": settings.served_model_name,
            "object": "model",
            "created": created,
            "owned_by": "helixflow",
            "root": str(settings.model_path),
            "max_model_len": engine.context_length,
        }
        return _json({"object": "list", "data": [card]})

    def check_model(requested: str | None) -> None:
        if requested is not None and requested not in (settings.served_model_name, str(settings.model_path)):
            raise HTTPException(
                404, f"model {requested!r} not found; this worker serves {settings.served_model_name!r}"
            )

    @routes.post("/v1/chat/completions")
    async def chat(body: ChatCompletionRequest, request: Request) -> Response:
        check_model(body.model)
        body.check_supported()
        tokens = engine.prepare_chat(body.template_messages())
        params = body.sampling(engine.check_budget(tokens, body.requested_max_tokens()))
        return await _respond(engine, body, tokens, params, _request_id(request, "chatcmpl"), chat=True)

    @routes.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request) -> Response:
        check_model(body.model)
        body.check_supported()
        tokens = engine.prepare_text(body.prompt_text())
        params = body.sampling(engine.check_budget(tokens, body.max_tokens))
        return await _respond(engine, body, tokens, params, _request_id(request, "cmpl"), chat=False)

    app.include_router(open_routes)
    app.include_router(routes)
    return app


def _request_id(request: Request, prefix: str) -> str:
    given = request.headers.get("x-request-id")
    return f"{prefix}-{given}" if given else f"{prefix}-{uuid.uuid4().hex}"


def _usage(stats: GenerationStats) -> dict[str, int]:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "total_tokens": stats.prompt_tokens + stats.completion_tokens,
    }


async def _respond(
    engine: LlamaEngine,
    body: ChatCompletionRequest | CompletionRequest,
    tokens: list[int],
    params: SamplingParams,
    request_id: str,
    *,
    chat: bool,
) -> Response:
    stats = GenerationStats()
    created = int(time.time())
    model = engine.served_model_name
    if not body.stream:
        parts: list[str] = []
        finish: str | None = None
        async for piece in engine.generate(tokens, params, stats):
            parts.append(piece.text)
            finish = piece.finish_reason or finish
        text = "".join(parts)
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish, "logprobs": None}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        kind = "chat.completion" if chat else "text_completion"
        return _json(
            {
                "id": request_id,
                "object": kind,
                "created": created,
                "model": model,
                "choices": [choice],
                "usage": _usage(stats),
            }
        )
    return StreamingResponse(
        _stream(engine, tokens, params, stats, request_id, created, chat=chat, include_usage=body.include_usage(),
                continuous_usage=body.continuous_usage()),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    engine: LlamaEngine,
    tokens: list[int],
    params: SamplingParams,
    stats: GenerationStats,
    request_id: str,
    created: int,
    *,
    chat: bool,
    include_usage: bool,
    continuous_usage: bool = False,
) -> AsyncIterator[bytes]:
    kind = "chat.completion.chunk" if chat else "text_completion"
    base = {"id": request_id, "object": kind, "created": created, "model": engine.served_model_name}

    def event(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
        if usage is None and continuous_usage:
            usage = _usage(stats)  # the usage so far (SGLang's continuous_usage_stats)
        return b"data: " + orjson.dumps({**base, "choices": choices, "usage": usage}) + b"\n\n"

    def choice(text: str | None, finish: str | None, first: bool = False) -> dict[str, Any]:
        if not chat:
            return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        delta: dict[str, Any] = {}
        if first:
            delta["role"] = "assistant"
        if text is not None:
            delta["content"] = text
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    if chat:
        yield event([choice("", None, first=True)])
    try:
        async for piece in engine.generate(tokens, params, stats):
            if piece.finish_reason is None:
                yield event([choice(piece.text, None)])
            else:
                yield event([choice(piece.text or None, piece.finish_reason)])
    except RuntimeError as exc:
        # Headers are gone already: the error travels as an event, then the stream ends.
        err = {"error": {"message": str(exc), "type": "server_error", "param": None, "code": None}}
        yield b"data: " + orjson.dumps(err) + b"\n\n"
    else:
        if include_usage:
            yield event([], _usage(stats))
    yield b"data: [DONE]\n\n"
