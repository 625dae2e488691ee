"""Small raw-ASGI helpers for the gateway's hot path (no framework objects per request)."""

from __future__ import annotations

import re

from starlette.types import Receive, Send

from helixflow.runtime.common.errors import ApiError

JSON = b"application/json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def clean_request_id(value: str | None) -> str | None:
    """A client's X-Request-ID if it is safe to log and echo, else None (a new one is made)."""
    return value if value is not None and _REQUEST_ID.match(value) else None


async def read_body(receive: Receive, limit: int) -> bytes:
    """Raises ApiError(413) past ``limit`` bytes; ConnectionError when the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body larger than {limit} bytes", code="request_too_large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def header_list(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


async def send_response(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]],
                        content_type: bytes = JSON) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
