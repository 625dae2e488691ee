"""Exception handlers that give every FastAPI app in the runtime OpenAI-shaped errors (400, never 422)."""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.telemetry import TelemetryConfig
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from helixflow.runtime.common.errors import ApiError, error_body

log = logging.getLogger("helixflow.errors")


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = ".".join(loc) or None
    return f"{param + ': ' if param else ''}{first.get('msg', 'invalid value')}", param


def telemetry_config(tracing: bool) -> TelemetryConfig:
    """FastAPI's built-in OpenTelemetry layer: our own metrics and logs replace it; its spans only when tracing."""
    return TelemetryConfig(tracing=tracing, metrics=False, logs=False, operation_spans=False)


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return Response(exc.body(), status_code=exc.status, media_type="application/json", headers=exc.headers)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        body = error_body(exc.status_code, str(exc.detail))
        return Response(body, status_code=exc.status_code, media_type="application/json",
                        headers=dict(exc.headers or {}))

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        message, param = _validation_message(exc)
        return Response(error_body(400, message, param=param), status_code=400, media_type="application/json")

    async def unexpected(_: Request, exc: Exception) -> Response:
        if isinstance(exc, asyncpg.DataError):  # e.g. a NUL character or a number PostgreSQL cannot store
            return Response(error_body(400, f"invalid value: {type(exc).__name__}", code="invalid_value"),
                            status_code=400, media_type="application/json")
        if isinstance(exc, OSError | TimeoutError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError
                      | RedisError):
            log.warning("backend unavailable: %s", type(exc).__name__)
            return Response(error_body(503, "a backend (database or Redis) is unavailable, retry shortly",
                                       code="backend_unavailable"),
                            status_code=503, media_type="application/json", headers={"Retry-After": "1"})
        log.error("unexpected %s", type(exc).__name__, exc_info=exc)
        return Response(error_body(500, "internal error", code="internal_error"), status_code=500,
                        media_type="application/json")

    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
