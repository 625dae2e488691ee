"""Each local component's health from the stack's `components` output, probed directly (no engine run):
is its process alive, does it answer?"""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from helixflow.components.processes import http_ok, is_running
from helixflow.stacks.targets.base import ComponentStatus, State


def probe(health: str, timeout: float = 2.0) -> bool:
    url = urlparse(health)
    if url.scheme == "tcp":
        try:
            with socket.create_connection((url.hostname or "127.0.0.1", url.port or 0), timeout=timeout):
                return True
        except OSError:
            return False
    return http_ok(health, timeout=timeout)


def dead_letters(port: int, timeout: float = 2.0) -> int | None:
    """``helixflow_usage_dead_letters`` from the monitoring service's metrics (None when it cannot be read)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
            text = response.read(4 << 20).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    found = re.search(r"^helixflow_usage_dead_letters (\S+)$", text, re.MULTILINE)
    try:
        return int(float(found.group(1))) if found else None
    except ValueError:
        return None


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def component_statuses(components: Mapping[str, Mapping[str, Any]]) -> list[ComponentStatus]:
    statuses = []
    for name, info in sorted(components.items()):
        pid = _number(info.get("pid"))
        running = is_running(pid, _number(info.get("started")))
        healthy = running and probe(str(info.get("health", "")))
        state: State = "healthy" if healthy else "unhealthy" if running else "down"
        details = {"port": int(info.get("port", 0)), "pid": pid, "running": running, "healthy": healthy,
                   "log": str(info.get("log", ""))}  # fmt: skip
        if healthy and info.get("kind") == "monitoring service":
            # Usage records PostgreSQL refused: unbilled until `helixflow usage replay` (the alert fires too).
            details["dead_letters"] = dead_letters(int(info.get("port", 0)))
        statuses.append(ComponentStatus(name=name, kind=str(info.get("kind", "")), state=state, details=details))
    return statuses
