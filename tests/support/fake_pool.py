"""A tiny OpenAI-compatible upstream standing in for sglang-router in tests and benchmarks (raw ASGI).

``python -m tests.support.fake_pool --port N``. Serves /v1/models, /v1/chat/completions
(JSON and SSE), /v1/completions, /v1/embeddings, /readiness and /health. Tests steer it with
``POST /_control`` (``{"fail_status": 503, "ready": false, "token_delay": 0.05}``; for streams also
``stream_tokens`` (5), ``break_after`` (0: never; else the connection is cut after that many chunks) and
``continuous_usage`` (true: ``stream_options.continuous_usage_stats`` puts the usage so far in every chunk, as
SGLang and vLLM do)) and read ``GET /_stats`` (requests seen, streams finished, streams cancelled).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import orjson

MODEL = "tiny-test-model"
COMPLETION_TOKENS = 5
CONTEXT_LENGTH = 4096


class FakePool:
    def __init__(self) -> None:
        self.control: dict[str, Any] = {"fail_status": 0, "ready": True, "token_delay": 0.0,
                                        "stream_tokens": COMPLETION_TOKENS, "break_after": 0,
                                        "continuous_usage": True}
        self.stats = {"requests": 0, "streams_finished": 0, "streams_cancelled": 0}
        self.last_request_id: str | None = None
        self.last_traceparent: str | None = None
        self._chat = orjson.dumps(self._chat_body(1))

    @staticmethod
    def _chat_body(prompt_tokens: int) -> dict[str, Any]:
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "one two three four five"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": COMPLETION_TOKENS,
                          "total_tokens": prompt_tokens + COMPLETION_TOKENS}}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                self.last_request_id = value.decode()
            elif name == b"traceparent":
                self.last_traceparent = value.decode()
        if path == "/readiness":
            ok = self.control["ready"]
            await self._json(send, 200 if ok else 503, {"ready": ok})
        elif path == "/health":
            await self._json(send, 200, {"status": "ok"})
        elif path == "/_control":
            self.control.update(orjson.loads(body))
            await self._json(send, 200, self.control)
        elif path == "/_stats":
            await self._json(send, 200, {**self.stats, "last_request_id": self.last_request_id,
                                         "last_traceparent": self.last_traceparent})
        elif path == "/v1/models":
            await self._json(send, 200, {"object": "list", "data": [
                {"id": MODEL, "object": "model", "created": 1700000000, "owned_by": "helixflow",
                 "max_model_len": CONTEXT_LENGTH}]})
        elif path.startswith("/v1/"):
            await self._inference(path, body, receive, send)
        else:
            await self._json(send, 404, {"error": {"message": "not found", "type": "not_found"}})

    async def _inference(self, path: str, raw: bytes, receive: Any, send: Any) -> None:
        self.stats["requests"] += 1
        if self.control["fail_status"]:
            await self._json(send, self.control["fail_status"], {"error": {"message": "pool failure"}})
            return
        body = orjson.loads(raw)
        if body.get("model") != MODEL:
            await self._json(send, 404, {"error": {"message": f"model {body.get('model')} not found",
                                                   "type": "not_found_error", "code": "model_not_found"}})
            return
        if path == "/v1/embeddings":
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))]
            await self._json(send, 200, {"object": "list", "data": data, "model": MODEL,
                                         "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}})
            return
        prompt_tokens = len(raw) // 50 + 1
        if body.get("stream"):
            await self._stream(body, prompt_tokens, receive, send)
            return
        if path == "/v1/completions":
            result = {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": MODEL,
                      "choices": [{"index": 0, "text": " one two three four five", "finish_reason": "stop"}],
                      "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": COMPLETION_TOKENS,
                                "total_tokens": prompt_tokens + COMPLETION_TOKENS}}
            await self._json(send, 200, result)
        elif prompt_tokens == 1:
            await self._raw(send, 200, self._chat)
        else:
            await self._json(send, 200, self._chat_body(prompt_tokens))

    async def _stream(self, body: dict[str, Any], prompt_tokens: int, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        options = body.get("stream_options") or {}
        include_usage = options.get("include_usage")
        continuous = bool(options.get("continuous_usage_stats")) and self.control["continuous_usage"]
        tokens, break_after = int(self.control["stream_tokens"]), int(self.control["break_after"])

        def usage(completion: int) -> dict[str, int]:
            return {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                    "total_tokens": prompt_tokens + completion}

        try:
            for i in range(tokens):
                if break_after and i == break_after:
                    raise ConnectionAbortedError("the fake pool breaks the stream off")  # the server cuts it
                delta: dict[str, Any] = {"content": f" w{i}"}
                if i == 0:
                    delta["role"] = "assistant"
                chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": MODEL, "choices": [{"index": 0, "delta": delta,
                                                      "finish_reason": "stop" if i == tokens - 1 else None}],
                         "usage": usage(i + 1) if continuous else None}
                await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n",
                            "more_body": True})
                if self.control["token_delay"]:
                    try:
                        message = await asyncio.wait_for(receive(), self.control["token_delay"])
                    except TimeoutError:
                        continue
                    if message["type"] == "http.disconnect":
                        self.stats["streams_cancelled"] += 1
                        return
            if include_usage:
                final = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": MODEL, "choices": [], "usage": usage(tokens)}
                await send({"type": "http.response.body", "body": b"data: " + orjson.dumps(final) + b"\n\n",
                            "more_body": True})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})
            self.stats["streams_finished"] += 1
        except (asyncio.CancelledError, OSError):
            self.stats["streams_cancelled"] += 1
            raise

    @staticmethod
    async def _raw(send: Any, status: int, body: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _json(self, send: Any, status: int, data: Any) -> None:
        await self._raw(send, status, orjson.dumps(data))


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(FakePool(), host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", access_log=False,
                log_level="warning")


if __name__ == "__main__":
    main()
