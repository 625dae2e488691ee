"""The lean ASGI server (helixflow.runtime.common.http_server), HTTP/1.1 behaviour: run as a real process
(``tests/support/lean_server_app.py``) and spoken to over raw sockets and httpx."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.lean_server_app import Server, closed_by_peer, connect, read_response, running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("http-server"), keepalive=1.0) as srv:
        yield srv


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
