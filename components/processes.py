"""Starting, watching and stopping long-lived processes on this machine: the local target's components
and the simulated Kubernetes cluster's control plane.

Processes started from a dynamic provider must leave the provider plugin's
process group and pipes (the engine signals that group at shutdown), so they run
in a new session with stdin from /dev/null and output appended to a log file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

LOG_TAIL_LINES = 15


class ProcessError(RuntimeError):
    """A process would not start, or did not become healthy in time. The message carries its log's tail."""


class ProcessExited(ProcessError):
    """The process ended while it was starting."""


# The Popen objects of the processes this (provider) process started, by pid. Kept so that their exit
# status can be read: a dropped Popen is reaped by the next Popen() call anywhere in the process, and
# its status lost with it.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


START_MARK = "=== helixflow: starting "


def log_tail(log_file: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines the current run wrote (earlier runs' lines, before the start mark, are left out)."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return ""
    current = text.rsplit(START_MARK, 1)[-1].split("\n", 1)[-1] if START_MARK in text else text
    return "\n".join(current.splitlines()[-lines:]) or "(the log is empty)"


def as_user(argv: Sequence[str], user: str | None) -> list[str]:
    """argv run as another user through setpriv, which execs (the pid stays the program's).

    Not Popen(user=...): that forces a plain fork() of the dynamic provider, a process full of
    gRPC threads, and the child can crash before exec (initdb died with SIGSEGV that way).
    """
    if not user:
        return list(argv)
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *argv]


def start_process(
    argv: Sequence[str],
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    label: str | None = None,
) -> int:
    """Start argv detached from the caller; returns its pid (the leader of its own session)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log, open(os.devnull, "rb") as devnull:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        log.write(f"{START_MARK}{label or Path(argv[0]).name} at {stamp} ===\n".encode())
        log.flush()
        proc = subprocess.Popen(
            as_user(argv, user),
            stdin=devnull,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            # another user may not be able to enter our working directory (a 0700 home or temp dir)
            cwd=cwd if cwd is not None or user is None else "/",
        )
    _CHILDREN[proc.pid] = proc
    return proc.pid


def check_config(argv: Sequence[str], what: str) -> None:
    """Run a configuration checker (`nginx -t`, `promtool check config`); raises ProcessError with its verdict."""
    check = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=60)
    if check.returncode != 0:
        raise ProcessError(f"{what} rejected its configuration: {(check.stdout + check.stderr).strip()[-800:]}")


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[0] in ("Z", "X"):  # a zombie or dead task is not running
        return None
    return int(fields[19])


def is_running(pid: int | None, started: int | None = None) -> bool:
    """True when pid is alive and, when `started` is given, is the same process that was started then
    (pids are reused; command lines are not reliable, e.g. sglang-router retitles itself)."""
    if not pid or pid <= 0:
        return False
    ticks = start_ticks(pid)
    if ticks is None:
        return False
    return started is None or ticks == started


def stop_process(pid: int | None, started: int | None, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Signal the process group, wait, then SIGKILL what is left. A process already gone is fine."""
    if not is_running(pid, started):
        return
    assert pid is not None
    _signal_group(pid, sig)
    if _wait_gone(pid, started, timeout):
        return
    _signal_group(pid, signal.SIGKILL)
    _wait_gone(pid, started, 5.0)


def _wait_gone(pid: int, started: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_running(pid, started):
            return True
        time.sleep(0.05)
    return False


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap(pid: int) -> None:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _exit_status(pid: int) -> str:
    """' (exit code N)' or ' (killed by signal N)' for a child of ours that has ended, else ''."""
    child = _CHILDREN.get(pid)
    code = child.poll() if child is not None else None
    if code is None:
        return ""
    return f" (killed by signal {-code})" if code < 0 else f" (exit code {code})"


def http_ok(url: str, timeout: float = 2.0, headers: Mapping[str, str] | None = None) -> bool:
    """True when GET url answers 2xx. Uses urllib: providers should not import an HTTP stack for this."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until(
    healthy: Callable[[], bool],
    *,
    pid: int,
    started: int | None,
    log_file: Path,
    what: str,
    timeout: float,
    interval: float = 0.1,
) -> None:
    """Poll healthy() until it holds; fail fast (with the log's tail) when the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy():
            return
        if not is_running(pid, started):
            status = _exit_status(pid)
            raise ProcessExited(f"{what} exited during start-up{status}; last log lines:\n{log_tail(log_file)}")
        time.sleep(interval)
    raise ProcessError(f"{what} not healthy after {timeout:.0f}s; last log lines:\n{log_tail(log_file)}")
