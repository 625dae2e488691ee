"""The process model of :mod:`helixflow.runtime.common.http_server`: one listening socket, N forked workers,
and the ASGI lifespan each process runs around its server.

The parent binds the socket, forks the workers (each builds its app after the fork and serves on the inherited
socket) and supervises them without an event loop: SIGTERM, SIGINT and SIGCHLD stay blocked in the parent and
are taken synchronously with ``sigtimedwait``, so no Python signal handler runs in a half-forked child.

- A worker that dies while the parent is not stopping is restarted after a short back-off. A worker that exits
  ``MAX_QUICK_EXITS`` times in a row within ``QUICK_EXIT_SECONDS`` of starting makes the parent give up: one
  line on stderr, the other workers stopped, exit status 1.
- SIGTERM or SIGINT: the parent closes its copy of the socket, forwards the signal to every worker and waits
  for them; a worker still running after ``stop_timeout`` seconds is killed.

Lifespan (``Lifespan``, one per serving process): an app that raises before calling ``receive()``, or returns
without answering, does not support it and is served without. ``lifespan.startup.failed``, or an exception
after ``receive()``, is a failed startup, reported as one line (the last line of the app's message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("helixflow.http")

QUICK_EXIT_SECONDS = 5.0
MAX_QUICK_EXITS = 5
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
_WATCHED = STOP_SIGNALS | {signal.SIGCHLD}
_ASGI_LIFESPAN = {"version": "3.0", "spec_version": "2.0"}


def bind_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket with SO_REUSEADDR. Raises OSError when the address cannot be bound."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def describe_status(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit status {code}"


def _fork_worker(child_main: Callable[[], int], mask: set[signal.Signals]) -> int:
    """Fork; the child runs ``child_main`` with SIGTERM/SIGINT still blocked (the server unblocks them once its
    handlers are installed) and leaves through ``os._exit`` so nothing of the parent's unwinding runs twice."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask | STOP_SIGNALS)
        code = child_main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class _Supervisor:
    def __init__(self, sock: socket.socket, workers: int, child_main: Callable[[], int], stop_timeout: float,
                 child_mask: set[signal.Signals]) -> None:
        self.sock = sock
        self.workers = workers
        self.child_main = child_main
        self.stop_timeout = stop_timeout
        self.child_mask = child_mask
        self.slots: dict[int, int] = {}  # pid -> worker slot
        self.started: dict[int, float] = {}  # slot -> when its current process started
        self.quick_exits = [0] * workers
        self.restart_at: dict[int, float] = {}
        self.stopping = False
        self.failed = False
        self.deadline = 0.0
        self.killed = False

    def spawn(self, slot: int) -> None:
        pid = _fork_worker(self.child_main, self.child_mask)
        self.slots[pid] = slot
        self.started[slot] = time.monotonic()

    def stop(self, sig: int) -> None:
        if not self.stopping:
            self.stopping = True
            self.deadline = time.monotonic() + self.stop_timeout
            self.restart_at.clear()
            self.sock.close()
        for pid in self.slots:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def exited(self, pid: int, status: int) -> None:
        slot = self.slots.pop(pid, None)
        if slot is None or self.stopping:
            return
        lived = time.monotonic() - self.started[slot]
        self.quick_exits[slot] = self.quick_exits[slot] + 1 if lived < QUICK_EXIT_SECONDS else 1
        if self.quick_exits[slot] >= MAX_QUICK_EXITS:
            sys.stderr.write(f"error: worker {slot} exited {MAX_QUICK_EXITS} times within {QUICK_EXIT_SECONDS:g}s "
                             f"of starting (last: {describe_status(status)}); giving up\n")
            self.failed = True
            self.stop(signal.SIGTERM)
            return
        logger.warning("worker %d (pid %d) exited with %s; restarting it", slot, pid, describe_status(status))
        self.restart_at[slot] = time.monotonic() + min(2.0, 0.1 * 2 ** (self.quick_exits[slot] - 1))

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.exited(pid, status)

    def timeout(self) -> float | None:
        now = time.monotonic()
        if self.stopping:
            return None if self.killed else max(0.0, self.deadline - now)
        if self.restart_at:
            return max(0.0, min(self.restart_at.values()) - now)
        return None

    def run(self) -> int:
        for slot in range(self.workers):
            self.spawn(slot)
        while self.slots or (not self.stopping and self.restart_at):
            timeout = self.timeout()
            info = signal.sigwaitinfo(_WATCHED) if timeout is None else signal.sigtimedwait(_WATCHED, timeout)
            if info is not None and info.si_signo in STOP_SIGNALS:
                self.stop(info.si_signo)
            self.reap()
            now = time.monotonic()
            for slot, due in list(self.restart_at.items()):
                if due <= now and not self.stopping:
                    del self.restart_at[slot]
                    self.spawn(slot)
            if self.stopping and not self.killed and now >= self.deadline and self.slots:
                logger.error("workers still running %gs after the stop signal: killing them", self.stop_timeout)
                self.killed = True
                for pid in self.slots:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        return 1 if self.failed else 0


def run_workers(sock: socket.socket, workers: int, child_main: Callable[[], int], stop_timeout: float) -> int:
    """Fork ``workers`` processes running ``child_main`` (which must unblock SIGTERM/SIGINT once it handles them)
    and supervise them until a stop signal; returns the parent's exit status."""
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    try:
        return _Supervisor(sock, workers, child_main, stop_timeout, {signal.Signals(s) for s in old_mask}).run()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


class Lifespan:
    """The ASGI lifespan protocol of one process, run in its own task next to the server."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state
        loop = asyncio.get_running_loop()
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.startup_done: asyncio.Future[str | None] = loop.create_future()
        self.shutdown_done: asyncio.Future[str | None] = loop.create_future()
        self.called_receive = False
        self.stopping = False
        self.task: asyncio.Task[None] | None = None

    async def startup(self) -> str | None:
        """None when the app started (or does not support the lifespan), else why it failed."""
        self.task = asyncio.get_running_loop().create_task(self._main())
        await self.inbox.put({"type": "lifespan.startup"})
        return await asyncio.shield(self.startup_done)

    async def shutdown(self, timeout: float) -> str | None:
        if self.task is None or self.task.done():
            return None
        self.stopping = True
        await self.inbox.put({"type": "lifespan.shutdown"})
        try:
            return await asyncio.wait_for(asyncio.shield(self.shutdown_done), timeout)
        except TimeoutError:
            self.task.cancel()
            return f"no answer within {timeout:g}s"

    @staticmethod
    def _settle(future: asyncio.Future[str | None], outcome: str | None) -> None:
        if not future.done():
            future.set_result(outcome)

    async def _main(self) -> None:
        scope: Scope = {"type": "lifespan", "asgi": _ASGI_LIFESPAN, "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except Exception as exc:
            if not self.called_receive:
                logger.info("the ASGI app does not support the lifespan protocol (%s)", type(exc).__name__)
            elif not self.startup_done.done():
                self._settle(self.startup_done, f"{type(exc).__name__}: {exc}")
            elif self.stopping and not self.shutdown_done.done():
                self._settle(self.shutdown_done, f"{type(exc).__name__}: {exc}")
            else:
                logger.exception("exception in the ASGI lifespan")
        finally:
            self._settle(self.startup_done, None)
            self._settle(self.shutdown_done, None)

    async def _receive(self) -> Message:
        self.called_receive = True
        return await self.inbox.get()

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        failure = (message.get("message") or kind).strip().splitlines()[-1:] or [kind]
        if kind == "lifespan.startup.complete":
            self._settle(self.startup_done, None)
        elif kind == "lifespan.startup.failed":
            self._settle(self.startup_done, failure[0])
        elif kind == "lifespan.shutdown.complete":
            self._settle(self.shutdown_done, None)
        elif kind == "lifespan.shutdown.failed":
            self._settle(self.shutdown_done, failure[0])
        else:
            raise RuntimeError(f"unexpected lifespan message {kind!r}")
