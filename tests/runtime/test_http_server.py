"""The lean ASGI server (helixflow.runtime.common.http_server), run as a real process and spoken to over raw
sockets and httpx. ``make_app`` below is the app every test server runs (imported by the server process)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helixflow.runtime.common.http_workers import Lifespan
from tests.support.processes import free_port, stop, wait_for_port

REPO = Path(__file__).resolve().parents[2]
LAUNCH = ("import sys; from helixflow.runtime.common.http_server import serve_asgi; "
          "from tests.runtime.test_http_server import make_app; "
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("http-server"), keepalive=1.0) as srv:
        yield srv


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


# ---- HTTP/1.1 behaviour --------------------------------------------------------------------------------------

def test_several_requests_share_one_keep_alive_connection(server: Server) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        for i in range(3):
            sock.sendall(b"GET /p%%C3%%A9?i=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            response = read_response(stream)
            assert response.status == 200 and "connection" not in response.headers
            assert json.loads(response.body) == {"path": "/p\u00e9", "raw_path": "/p%C3%A9", "query": f"i={i}",
                                                 "method": "GET", "version": "1.1"}
            assert response.headers["server"] == "helixflow" and response.headers["date"].endswith(" GMT")
            assert response.headers["content-length"] == str(len(response.body))
        sock.sendall(b"GET http://example.test/abs?q=1 HTTP/1.1\r\nHost: example.test\r\n\r\n")
        assert json.loads(read_response(stream).body) == {"path": "/abs", "raw_path": "/abs", "query": "q=1",
                                                          "method": "GET", "version": "1.1"}
    with httpx.Client(base_url=server.url) as client:
        pids = {client.get("/pid").text for _ in range(5)}
        assert client.post("/echo", content=b"hello").content == b"hello"
    assert len(pids) == 1


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                     b"GET /slow?0.05 HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nthird!")
        assert [read_response(stream).body for _ in range(3)] == [b"first", b"done", b"third!"]


def test_chunked_request_body_is_decoded_and_streamed(server: Server) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        time.sleep(0.1)
        sock.sendall(b"7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n")
        response = read_response(stream)
        assert response.status == 200 and response.body == b"hello, world"
        assert int(response.headers["x-messages"]) >= 2  # the app saw the first chunk before the second was sent
        sock.sendall(b"GET /headers HTTP/1.1\r\nHost: x\r\n\r\n")  # the trailer is not the next request's
        assert json.loads(read_response(stream).body)["headers"] == [["host", "x"]]


def test_expect_100_continue_is_answered_when_the_app_reads(server: Server) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert stream.readline() == b"HTTP/1.1 100 Continue\r\n" and stream.readline() == b"\r\n"
        sock.sendall(b"ping")
        response = read_response(stream)
        assert response.status == 200 and response.body == b"ping"
        sock.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")  # still usable
        assert read_response(stream).status == 200


def test_large_body_streams_through_in_several_messages(server: Server) -> None:
    body = os.urandom(2 * 1024 * 1024)
    with httpx.Client(base_url=server.url) as client:
        result = client.post("/digest", content=body).json()
        result_chunked = client.post("/digest", content=iter([body[:1_000_000], body[1_000_000:]])).json()
    for outcome in (result, result_chunked):
        assert outcome["size"] == len(body) and outcome["sha256"] == hashlib.sha256(body).hexdigest()
        assert outcome["messages"] > 4


def test_streamed_response_without_length_is_chunked(server: Server) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        response = read_response(stream)  # asserts the chunk framing byte by byte
        assert response.headers["transfer-encoding"] == "chunked" and "content-length" not in response.headers
        assert response.body == b"part 0\npart 1\npart 2\n"
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/stream").text == "part 0\npart 1\npart 2\n"


def test_head_response_has_no_body(server: Server) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"HEAD /head HTTP/1.1\r\nHost: x\r\n\r\nGET /head HTTP/1.1\r\nHost: x\r\n\r\n")
        head = read_response(stream, head_request=True)
        assert head.status == 200 and head.headers["content-length"] == "3"
        after = read_response(stream)  # would start with "abc" if the HEAD body had been sent
        assert after.status == 200 and after.body == b"abc"


@pytest.mark.parametrize("request_bytes", [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                                           b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
                                           b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                           b"Upgrade: h2c\r\nContent-Length: 3\r\n\r\nabc"])
def test_malformed_request_gets_400_and_the_connection_closes(server: Server, request_bytes: bytes) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(request_bytes)
        response = read_response(stream)
        assert response.status == 400 and response.headers["connection"] == "close"
        assert json.loads(response.body)["error"]["code"] == "bad_request"
        assert closed_by_peer(sock)


def test_an_upgrade_we_do_not_take_is_answered_as_plain_http(server: Server) -> None:
    """curl --http2 on http:// asks for h2c: it must get an HTTP/1.1 answer and keep the connection usable."""
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"GET /head HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                     b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\nGET /head HTTP/1.1\r\nHost: x\r\n\r\n")
        first, second = read_response(stream), read_response(stream)
        assert (first.status, first.body) == (200, b"abc")
        assert (second.status, second.body) == (200, b"abc")
        sock.sendall(b"GET /head HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(stream).body == b"abc"


def test_oversized_headers_get_431(server: Server) -> None:
    for big in (b"X-Big: " + b"a" * 70_000 + b"\r\n",  # one header
                b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 1000) for i in range(70))):  # many
        with connect(server) as sock, sock.makefile("rb") as stream:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
            response = read_response(stream)
            assert response.status == 431 and response.headers["connection"] == "close"
            assert closed_by_peer(sock)
    with connect(server) as sock, sock.makefile("rb") as stream:  # 60 KiB is fine
        sock.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\nX-Big: " + b"c" * 60_000 + b"\r\n\r\n")
        assert read_response(stream).status == 200


def test_connection_close_and_http10_close_after_the_response(server: Server) -> None:
    for request in (b"GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"GET /pid HTTP/1.0\r\n\r\n"):
        with connect(server) as sock, sock.makefile("rb") as stream:
            sock.sendall(request)
            response = read_response(stream)
            assert response.status == 200 and response.headers["connection"] == "close"
            assert closed_by_peer(sock)
    with connect(server) as sock, sock.makefile("rb") as stream:  # 1.0 asking for keep-alive keeps it
        for _ in range(2):
            sock.sendall(b"GET /pid HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            response = read_response(stream)
            assert response.status == 200 and response.headers["connection"] == "keep-alive"
        sock.sendall(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")  # no chunks for 1.0: read to close
        response = read_response(stream)
        assert response.body == b"part 0\npart 1\npart 2\n" and response.headers["connection"] == "close"


def test_app_exception_is_a_500_in_the_openai_shape(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        for path in ("/boom", "/noresponse"):
            response = client.get(path)
            assert response.status_code == 500 and response.headers["connection"] == "close"
            assert response.json() == {"error": {"message": "internal error", "type": "server_error",
                                                 "param": None, "code": "internal_error"}}
        assert "secret" not in response.text and client.get("/pid").status_code == 200
    assert "secret detail" in server.stderr()  # logged, with its traceback, on the server side
    assert "returned without completing its response to GET /noresponse" in server.stderr()


def test_app_exception_after_the_response_started_closes_the_connection(server: Server) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"GET /partial HTTP/1.1\r\nHost: x\r\n\r\n")
        assert stream.readline().startswith(b"HTTP/1.1 200")
        while stream.readline() != b"\r\n":
            pass
        assert stream.readline() == b"4\r\n" and stream.readline() == b"half\r\n"
        assert stream.read() == b""  # closed with no last chunk: the client can tell the body is cut short


def test_send_waits_while_the_client_does_not_read(server: Server) -> None:
    with connect(server, timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(b"GET /big?b1 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.6)
        with sock.makefile("rb") as stream:
            assert len(read_response(stream).body) == 48 * 256 * 1024
    longest = float((server.folder / "big-b1").read_text())
    assert longest >= 0.4  # one send() was held back while the client was not reading


@pytest.mark.parametrize("token", ["t1", "swallow1"])
def test_client_disconnect_cancels_the_app_and_sets_the_flag(server: Server, token: str) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"GET /hang?%s HTTP/1.1\r\nHost: x\r\n\r\n" % token.encode())
        assert stream.readline().startswith(b"HTTP/1.1 200")
        while stream.readline() != b"\r\n":
            pass
        assert stream.readline() == b"6\r\n" and stream.readline() == b"first\n"
    marker = server.folder / f"cancelled-{token}"
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert json.loads(marker.read_text()) == {"disconnected": True}
    time.sleep(0.1)  # an app that handles the cancellation and returns is no error
    assert "/hang" not in server.stderr()


def test_idle_keep_alive_connection_is_closed_after_the_timeout(server: Server) -> None:
    with connect(server) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(stream).status == 200
        idle_from = time.monotonic()
        assert not closed_by_peer(sock, timeout=0.6)  # keepalive_timeout is 1.0 s
        assert closed_by_peer(sock, timeout=3.0)
        assert 0.95 <= time.monotonic() - idle_from <= 2.5


# ---- lifespan, signals, workers ------------------------------------------------------------------------------

def test_lifespan_runs_and_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    with running(tmp_path) as srv:
        # The socket is bound before the lifespan runs; requests are served once startup is complete.
        assert httpx.get(srv.url + "/state").text == "hello from the lifespan"
        assert (tmp_path / f"startup-{srv.process.pid}").read_text() == "started"
        outcome: dict[str, httpx.Response] = {}
        thread = threading.Thread(target=lambda: outcome.setdefault("r", httpx.get(srv.url + "/slow?1.0")))
        thread.start()
        time.sleep(0.4)
        srv.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
        assert not (tmp_path / f"shutdown-{srv.process.pid}").exists()  # not before the request is done
        thread.join(5)
        assert outcome["r"].status_code == 200 and outcome["r"].text == "done"
        assert outcome["r"].headers["connection"] == "close"
        assert srv.process.wait(10) == 0
        assert (tmp_path / f"shutdown-{srv.process.pid}").read_text() == "stopped"


def test_app_without_lifespan_is_served_and_sigint_stops_it(tmp_path: Path) -> None:
    with running(tmp_path, env={"HF_TEST_NO_LIFESPAN": "1"}) as srv:
        response = httpx.get(srv.url + "/state")
        assert response.status_code == 200 and response.text == ""  # no lifespan, so no state from it
        srv.process.send_signal(signal.SIGINT)
        assert srv.process.wait(10) == 0
        assert "Traceback" not in srv.stderr()


async def _no_lifespan(scope: Scope, receive: Any, send: Any) -> None:
    raise RuntimeError("http only")


async def _raises_in_startup(scope: Scope, receive: Any, send: Any) -> None:
    await receive()
    raise ValueError("no database")


async def _returns_at_once(scope: Scope, receive: Any, send: Any) -> None:
    return


async def _fails_shutdown(scope: Scope, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.failed", "message": "Traceback\n...\nRuntimeError: flush failed"})


@pytest.mark.parametrize(("app", "startup", "shutdown"), [
    (_no_lifespan, None, None), (_returns_at_once, None, None),
    (_raises_in_startup, "ValueError: no database", None), (_fails_shutdown, None, "RuntimeError: flush failed")])
def test_lifespan_outcomes(app: Any, startup: str | None, shutdown: str | None) -> None:
    async def main() -> tuple[str | None, str | None]:
        lifespan = Lifespan(app, {})
        return await lifespan.startup(), await lifespan.shutdown(1.0)

    assert asyncio.run(main()) == (startup, shutdown)


def test_lifespan_startup_failure_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    with running(tmp_path, env={"HF_TEST_STARTUP_FAILS": "1"}, wait=False) as srv:
        assert srv.process.wait(20) == 3
        assert srv.stderr() == "error: ASGI lifespan startup failed: OSError: no db\n"


def test_two_workers_serve_and_stop_together(tmp_path: Path) -> None:
    with running(tmp_path, workers=2) as srv:
        pids: set[int] = set()
        deadline = time.monotonic() + 10
        while len(pids) < 2 and time.monotonic() < deadline:
            socks = [connect(srv) for _ in range(8)]
            for sock in socks:
                sock.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            for sock in socks:
                with sock, sock.makefile("rb") as stream:
                    pids.add(int(read_response(stream).body))
        assert len(pids) == 2 and srv.process.pid not in pids
        assert all((tmp_path / f"startup-{pid}").exists() for pid in pids)  # the app is built in each worker
        killed = min(pids)
        os.kill(killed, signal.SIGKILL)  # an unexpected death: the parent starts another worker
        deadline = time.monotonic() + 10
        while len(pids) < 3 and time.monotonic() < deadline:
            with contextlib.suppress(OSError), httpx.Client(base_url=srv.url) as client:
                pids.add(int(client.get("/pid", headers={"connection": "close"}).text))
            time.sleep(0.05)
        assert len(pids) == 3 and all((tmp_path / f"startup-{pid}").exists() for pid in pids - {killed})
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(10) == 0
        for pid in pids:
            assert pid == killed or (tmp_path / f"shutdown-{pid}").exists()
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)


def test_workers_that_keep_dying_make_the_parent_give_up(tmp_path: Path) -> None:
    with running(tmp_path, workers=2, env={"HF_TEST_FACTORY_FAILS": "1"}, wait=False) as srv:
        assert srv.process.wait(20) == 1
        assert "giving up" in srv.stderr() and "factory refuses" in srv.stderr()
