"""The lean ASGI server's process life: lifespan, stop signals, worker processes (real processes started by
``tests/support/lean_server_app.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from helixflow.runtime.common.http_workers import Lifespan
from tests.support.lean_server_app import Scope, connect, read_response, running


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
