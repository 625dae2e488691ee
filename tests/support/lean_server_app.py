"""The app the lean HTTP server's tests run (``make_app``, imported by the server process), how they start it
as a real process (``running``), and raw-socket helpers to speak to it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.processes import free_port, stop, wait_for_port

REPO = Path(__file__).resolve().parents[2]
LAUNCH = ("import sys; from helixflow.runtime.common.http_server import serve_asgi; "
          "from tests.support.lean_server_app import make_app; "
          "serve_asgi(make_app, '127.0.0.1', int(sys.argv[1]), workers=int(sys.argv[2]), "
          "graceful_timeout=float(sys.argv[3]), keepalive_timeout=float(sys.argv[4]))")


# ---- the app the servers run ---------------------------------------------------------------------------------

Scope = dict[str, Any]


async def _respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


async def _read_all(receive: Any) -> tuple[bytes, int]:
    chunks, messages = [], 0
    while True:
        message = await receive()
        assert message["type"] == "http.request", message
        chunks.append(message["body"])
        messages += 1
        if not message["more_body"]:
            return b"".join(chunks), messages


def make_app() -> Any:
    """Routes: /echo, /digest, /stream, /head, /boom, /noresponse, /partial, /big?TOKEN, /slow?SECONDS, /hang?TOKEN,
    /pid, /state; anything else describes its scope."""
    if os.environ.get("HF_TEST_FACTORY_FAILS"):
        raise RuntimeError("factory refuses")
    out = Path(os.environ["HF_TEST_DIR"])

    async def lifespan(scope: Scope, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if os.environ.get("HF_TEST_STARTUP_FAILS"):
                    await send({"type": "lifespan.startup.failed", "message": "Traceback\n  ...\nOSError: no db"})
                    return
                scope["state"]["greeting"] = "hello from the lifespan"
                (out / f"startup-{os.getpid()}").write_text("started")
                await send({"type": "lifespan.startup.complete"})
            else:
                (out / f"shutdown-{os.getpid()}").write_text("stopped")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            if os.environ.get("HF_TEST_NO_LIFESPAN"):
                raise RuntimeError("only http here")
            return await lifespan(scope, receive, send)
        path, query = scope["path"], scope["query_string"].decode()
        if path == "/echo":
            body, messages = await _read_all(receive)
            await _respond(send, 200, body, [(b"x-messages", str(messages).encode())])
        elif path == "/digest":
            body, messages = await _read_all(receive)
            await _respond(send, 200, json.dumps({"size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                                                  "messages": messages}).encode())
        elif path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            for i in range(3):
                await send({"type": "http.response.body", "body": f"part {i}\n".encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        elif path == "/head":
            await _respond(send, 200, b"abc", [(b"content-length", b"3")])
        elif path == "/boom":
            raise RuntimeError("secret detail")
        elif path == "/noresponse":
            return
        elif path == "/partial":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"half", "more_body": True})
            raise RuntimeError("failed half way")
        elif path == "/big":  # 12 MiB; records the longest time one send() waited for the client to read
            await send({"type": "http.response.start", "status": 200, "headers": []})
            chunk, longest = b"x" * 256 * 1024, 0.0
            for _ in range(48):
                started = time.monotonic()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                longest = max(longest, time.monotonic() - started)
            await send({"type": "http.response.body", "body": b""})
            (out / f"big-{query}").write_text(str(longest))
        elif path == "/slow":
            await asyncio.sleep(float(query))
            await _respond(send, 200, b"done")
        elif path == "/hang":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                flag = scope["extensions"]["helixflow.cancel_on_disconnect"]
                (out / f"cancelled-{query}").write_text(json.dumps(flag))
                if not query.startswith("swallow"):
                    raise
                asyncio.current_task().uncancel()  # type: ignore[union-attr]  # as the gateway does
                await asyncio.sleep(0.05)
        elif path == "/pid":
            await _respond(send, 200, str(os.getpid()).encode())
        elif path == "/state":
            await _respond(send, 200, scope["state"].get("greeting", "").encode())
        else:
            described = {"path": scope["path"], "raw_path": scope["raw_path"].decode(), "query": query,
                         "method": scope["method"], "version": scope["http_version"]}
            if path == "/headers":
                described = {"headers": [[n.decode(), v.decode()] for n, v in scope["headers"]]}
            await _respond(send, 200, json.dumps(described).encode())

    return app


# ---- running it ----------------------------------------------------------------------------------------------

class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, folder: Path) -> None:
        self.process, self.port, self.folder = process, port, folder
        self.url = f"http://127.0.0.1:{port}"

    def stderr(self) -> str:
        return (self.folder / "stderr.txt").read_text()


@contextlib.contextmanager
def running(folder: Path, workers: int = 1, graceful: float = 5.0, keepalive: float = 1.0,
            env: dict[str, str] | None = None, wait: bool = True) -> Iterator[Server]:
    port = free_port()
    with (folder / "stderr.txt").open("wb") as errors:
        process = subprocess.Popen([sys.executable, "-c", LAUNCH, str(port), str(workers), str(graceful),
                                    str(keepalive)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=errors,
                                   env={**os.environ, "HF_TEST_DIR": str(folder), **(env or {})})
    try:
        if wait:
            wait_for_port(port, 20, process)
        yield Server(process, port, folder)
    finally:
        stop(process)


def connect(srv: Server, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def read_response(stream: Any, head_request: bool = False) -> Response:
    """One response from a socket's ``makefile("rb")``, framed by content-length, chunks or the close."""
    status_line = stream.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        assert name not in headers, f"duplicate header {name}"
        headers[name.lower()] = value.strip()
    status = int(status_line.split()[1])
    if head_request or status in (100, 204, 304):
        return Response(status, headers, b"")
    if "content-length" in headers:
        return Response(status, headers, stream.read(int(headers["content-length"])))
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int(stream.readline().strip(), 16)) > 0:
            body += stream.read(size)
            assert stream.read(2) == b"\r\n"
        assert stream.read(2) == b"\r\n"
        return Response(status, headers, body)
    return Response(status, headers, stream.read())


def closed_by_peer(sock: socket.socket, timeout: float = 0.5) -> bool:
    """Whether the server closes the connection within ``timeout`` s (shorter than the idle timeout, 1 s)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
