"""The file backend's update lock: who holds it, and clearing one its holder left behind.

The engine writes `.pulumi/locks/.../<stack>/<id>.json` (pid, username, hostname,
timestamp) for update, refresh and destroy. A killed run leaves its lock; it is
stale only when it was taken on this host by a process that no longer exists.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any


def lock_files(backend_dir: Path, stack: str) -> list[Path]:
    locks = backend_dir / ".pulumi" / "locks"
    if not locks.exists():
        return []
    return [p for p in locks.rglob("*.json") if p.parent.name == stack]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_live(info: dict[str, Any]) -> bool:
    if info.get("hostname") not in (None, "", socket.gethostname()):
        return True  # another host's process: we cannot tell, so respect it
    pid = info.get("pid")
    return isinstance(pid, int) and _alive(pid)


def describe_live_lock(backend_dir: Path, stack: str) -> str | None:
    """'held by pid N (user@host) since T' for a lock whose holder still runs, else None."""
    for path in lock_files(backend_dir, stack):
        info = _read(path)
        if info and _is_live(info):
            who = f"{info.get('username', '?')}@{info.get('hostname', '?')}"
            return f"another run holds its lock: pid {info.get('pid')} ({who}) since {info.get('timestamp', '?')}"
    return None


def clear_stale_lock(backend_dir: Path, stack: str) -> list[Path]:
    """Remove locks whose holder is gone (a killed `up`); returns what was removed."""
    removed = []
    for path in lock_files(backend_dir, stack):
        info = _read(path)
        if not info or not _is_live(info):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
