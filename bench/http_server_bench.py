"""HTTP server benchmark: one trivial ASGI app (reads a small JSON POST, answers a fixed ~300-byte JSON) under
uvicorn (uvloop + httptools) and under helixflow's ``serve_asgi``, plus a minimal asyncio.Protocol + httptools
server that answers the same bytes without ASGI, as the floor.

Each server is pinned to CPU 0 and wrk to CPU 1 (``wrk -t1 -cN --latency`` with a POST script).
``.venv/bin/python bench/http_server_bench.py [--seconds 8] [--connections 32] [--rounds 1] [--json]``
Prints requests/s, p50/p99 latency and the server's CPU ms per request (utime + stime from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.gateway_bench import print_table, run_wrk, spawn, wrk_script  # noqa: E402
from tests.support.processes import free_port, stop  # noqa: E402

RESPONSE = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "tiny-test-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18}, "system_fingerprint": "fp_bench",
}).encode()
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(RESPONSE)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return  # no lifespan
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    json.loads(body)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": RESPONSE})


def make_app() -> Any:
    return app


def serve_minimal(port: int) -> None:
    """The floor: httptools parsing and one write per request, no ASGI, no task."""
    import httptools
    import uvloop

    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(RESPONSE)

    class Minimal(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport
            self.parser = httptools.HttpRequestParser(self)
            self.body = b""

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_body(self, body: bytes) -> None:
            self.body += body

        def on_message_complete(self) -> None:
            json.loads(self.body)
            self.body = b""
            self.transport.write(head + RESPONSE)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Minimal, "127.0.0.1", port, backlog=2048)
        await server.serve_forever()

    uvloop.run(main())


def serve(kind: str, port: int) -> None:
    if kind == "uvicorn":
        import uvicorn

        uvicorn.run(make_app, factory=True, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                    log_level="warning", access_log=False, lifespan="off")
    elif kind == "helixflow":
        from helixflow.runtime.common.http_server import serve_asgi

        serve_asgi(make_app, "127.0.0.1", port)
    else:
        serve_minimal(port)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", choices=["uvicorn", "helixflow", "minimal"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    script = wrk_script("bench")
    results: dict[str, dict[str, float]] = {}
    for round_ in range(args.rounds):
        for kind in ("uvicorn", "helixflow", "minimal"):
            port = free_port()
            command = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
            process = spawn(command, dict(os.environ), "0", port)
            try:
                name = kind if args.rounds == 1 else f"{kind} #{round_ + 1}"
                results[name] = run_wrk(f"http://127.0.0.1:{port}/v1/chat/completions", script, args.seconds,
                                        args.connections, [process.pid])
            finally:
                stop(process)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_table(results, 16)


if __name__ == "__main__":
    main()
