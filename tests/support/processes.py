"""The tests' one process launcher: free ports, waiting for a port, stopping a process, and
`ManagedProcess` (a child in its own session with a log file and an HTTP readiness probe)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.tiers import require_services


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts connections on 127.0.0.1:port. Raises RuntimeError on timeout or exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate, then kill if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


class ProcessStartError(RuntimeError):
    """A process exited or did not answer its readiness probe in time; the message quotes its log."""


@dataclass
class ManagedProcess:
    """A child process with a log file and an HTTP readiness URL."""

    name: str
    argv: Sequence[str]
    log_path: Path
    ready_url: str
    env: Mapping[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name} is not started")
        return self.popen.pid

    def start(self, *, timeout_s: float = 30.0, headers: Mapping[str, str] | None = None) -> ManagedProcess:
        """Start the process and wait until `ready_url` answers 200. Raises ProcessStartError."""
        require_services(self.name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {})}
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.wait_ready(timeout_s=timeout_s, headers=headers)
        return self

    def wait_ready(self, *, timeout_s: float, headers: Mapping[str, str] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=1.0, headers=dict(headers or {})) as client:
            while time.monotonic() < deadline:
                if not self.running():
                    raise ProcessStartError(f"{self.name} exited with code {self.returncode()}:\n{self.log_tail()}")
                try:
                    if client.get(self.ready_url).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise ProcessStartError(
            f"{self.name} did not answer {self.ready_url} within {timeout_s:.0f}s:\n{self.log_tail()}"
        )

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def signal(self, sig: signal.Signals) -> None:
        """Send `sig` to the process (SIGSTOP/SIGCONT simulate a hung worker in tests)."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):  # it may exit between the check and the signal
                os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL, no grace: what a crashed worker looks like to the router."""
        if self.popen is not None and self.running():
            self.popen.kill()
            self.popen.wait(timeout=10)

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace_s`."""
        if self.popen is None or not self.running():
            return
        self.signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
        self.popen.terminate()
        try:
            self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
