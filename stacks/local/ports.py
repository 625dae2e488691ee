"""The TCP ports the local target listens on by default (each one is configurable per stack)."""

from __future__ import annotations

import socket

# The seed's service ports where they are free to take; data stores sit off their
# usual ports so a system PostgreSQL or Redis does not collide with the stack's.
DEFAULT_PORTS: dict[str, int] = {
    "https": 8443,
    "http_redirect": 8000,
    "gateway": 8080,
    "auth": 8081,
    "router": 8082,
    "monitoring": 8083,
    "router_metrics": 8084,
    "worker_base": 30001,
    "postgres": 15432,
    "redis": 16379,
    "prometheus": 9090,
}


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port (a bind would succeed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
