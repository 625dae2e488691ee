"""Each component's health, probed directly (no engine run): is its process alive, does it answer?"""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlparse

from helixflow.components.local.process import http_ok, is_running


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    kind: str
    port: int
    pid: int | None
    running: bool
    healthy: bool
    log: str

    @property
    def state(self) -> str:
        if self.healthy and self.running:
            return "healthy"
        return "unhealthy" if self.running else "down"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state}


def probe(health: str, timeout: float = 2.0) -> bool:
    url = urlparse(health)
    if url.scheme == "tcp":
        try:
            with socket.create_connection((url.hostname or "127.0.0.1", url.port or 0), timeout=timeout):
                return True
        except OSError:
            return False
    return http_ok(health, timeout=timeout)


def component_statuses(components: dict[str, dict[str, Any]]) -> list[ComponentStatus]:
    statuses = []
    for name, info in sorted(components.items()):
        pid = info.get("pid")
        pid = int(pid) if isinstance(pid, int | float) else None
        started = info.get("started")
        running = is_running(pid, int(started) if isinstance(started, int | float) else None)
        statuses.append(
            ComponentStatus(
                name=name,
                kind=str(info.get("kind", "")),
                port=int(info.get("port", 0)),
                pid=pid,
                running=running,
                healthy=running and probe(str(info.get("health", ""))),
                log=str(info.get("log", "")),
            )
        )
    return statuses
