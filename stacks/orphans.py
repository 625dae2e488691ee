"""Dynamic-provider processes an interrupted run left behind.

When `helixflow up` is interrupted, the engine can exit before it stops its Python
dynamic-provider plugin (`python -m pulumi.dynamic`), which then idles forever with
no engine as its parent. Each run removes those of its own backend before it starts.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PROVIDER = b"pulumi.dynamic"
SHIM = b"pulumi-resource-pulumi-python"


def _read(pid: int, name: str) -> bytes:
    try:
        return (Path("/proc") / str(pid) / name).read_bytes()
    except OSError:
        return b""


def _parent(pid: int) -> int:
    for line in _read(pid, "status").splitlines():
        if line.startswith(b"PPid:"):
            return int(line.split()[1])
    return 0


def _is_engine(pid: int) -> bool:
    argv0 = _read(pid, "cmdline").split(b"\0", 1)[0]
    return os.path.basename(argv0) == b"pulumi"


def _orphaned(pid: int) -> bool:
    """Its engine is gone: the provider (or the shell shim running it) was handed to init or a subreaper."""
    parent = _parent(pid)
    if SHIM in _read(parent, "cmdline"):
        parent = _parent(parent)
    return not _is_engine(parent)


def orphaned_providers(backend_url: str) -> list[int]:
    marker = f"PULUMI_BACKEND_URL={backend_url}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if PROVIDER in _read(pid, "cmdline") and marker in _read(pid, "environ") and _orphaned(pid):
            found.append(pid)
    return found


def stop_orphaned_providers(backend_url: str) -> list[int]:
    """Kill this backend's orphaned providers; returns their pids. They hold no state worth keeping."""
    stopped = []
    for pid in orphaned_providers(backend_url):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        stopped.append(pid)
    return stopped
