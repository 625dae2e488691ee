"""The gateway benchmark's upstream: an OpenAI-compatible stub that answers from a protocol callback.

``python bench/stub_upstream.py PORT``. Serves ``POST /v1/chat/completions`` (JSON, usage included),
``GET /v1/models``, ``/readiness`` and ``/health`` over keep-alive HTTP/1.1. It shares a core with wrk,
Redis and PostgreSQL in the benchmark, so it does as little as an upstream can: parse the request, check
the model, send a prepared answer. The tests' ``tests/support/fake_pool.py`` (steerable, streaming) cost
that core about 3x as much a request.
"""

from __future__ import annotations

import asyncio
import sys

import httptools
import orjson
import uvloop

MODEL = "tiny-test-model"
COMPLETION_TOKENS = 5


def _response(status: bytes, body: bytes) -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)
            + body)


def _chat(prompt_tokens: int) -> bytes:
    return _response(b"200 OK", orjson.dumps({
        "id": "chatcmpl-stub", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "one two three four five"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": COMPLETION_TOKENS,
                  "total_tokens": prompt_tokens + COMPLETION_TOKENS}}))


FIXED = {
    b"/v1/models": _response(b"200 OK", orjson.dumps({"object": "list", "data": [
        {"id": MODEL, "object": "model", "created": 1700000000, "owned_by": "helixflow"}]})),
    b"/readiness": _response(b"200 OK", b'{"ready":true}'),
    b"/health": _response(b"200 OK", b'{"status":"ok"}'),
}
NOT_FOUND = _response(b"404 Not Found", b'{"error":{"message":"not found","type":"not_found_error"}}')
BAD_REQUEST = _response(b"400 Bad Request", b'{"error":{"message":"invalid JSON body","type":"invalid_request_error"}}')
CHAT_BY_PROMPT_TOKENS: dict[int, bytes] = {}


class StubConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(BAD_REQUEST)
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        url, raw = self.url, b"".join(self.body)
        self.url, self.body = b"", []
        assert self.transport is not None
        self.transport.write(self._answer(url, raw))
        if not self.parser.should_keep_alive():
            self.transport.close()

    @staticmethod
    def _answer(url: bytes, raw: bytes) -> bytes:
        if url != b"/v1/chat/completions":
            return FIXED.get(url, NOT_FOUND)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return BAD_REQUEST
        if not isinstance(body, dict) or body.get("model") != MODEL:
            return NOT_FOUND
        prompt_tokens = len(raw) // 50 + 1  # as the tests' fake pool counts them
        answer = CHAT_BY_PROMPT_TOKENS.get(prompt_tokens)
        if answer is None:
            answer = CHAT_BY_PROMPT_TOKENS[prompt_tokens] = _chat(prompt_tokens)
        return answer


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(StubConnection, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python bench/stub_upstream.py PORT")
    uvloop.run(serve(int(sys.argv[1])))
