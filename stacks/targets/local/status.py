"""Each local component's health from the stack's `components` output, probed directly (no engine run):
is its process alive, does it answer?"""

from __future__ import annotations

import socket
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
        statuses.append(ComponentStatus(name=name, kind=str(info.get("kind", "")), state=state, details=details))
    return statuses
