"""What the local target checks and finds before the engine touches anything: binaries, ports, the model.

Its result (`LocalHost`) is all the program learns of this machine, so building the program
itself looks nothing up.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from helixflow.stacks.config import LocalSettings
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.targets.local.paths import LocalPaths
from helixflow.stacks.targets.local.ports import port_is_free


@dataclass(frozen=True)
class LocalHost:
    """What the local program needs from this machine, found by `preflight`."""

    model_path: Path  # the GGUF file the workers serve
    postgres_bin_dir: Path
    python: str  # the interpreter the runtime's services run on
    run_postgres_as: str | None  # PostgreSQL refuses to run as root: then it runs as `postgres`


def _own_sessions(paths: LocalPaths) -> set[int]:
    """Session ids of this stack's processes: each was started as the leader of its own session."""
    sessions = set()
    for pid_file in paths.run_dir.glob("*.pid"):
        try:
            sessions.add(int(pid_file.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            continue
    return sessions


def _listener(port: int) -> tuple[int | None, str]:
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None, "another process"
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return None, "another user's process"
            try:
                return conn.pid, " ".join(" ".join(psutil.Process(conn.pid).cmdline()).split())[:80]
            except psutil.Error:
                return conn.pid, "a process"
    return None, "a process"


def check_ports(local: LocalSettings, paths: LocalPaths) -> None:
    """Raises HelixFlowError naming every port held by something that is not this stack."""
    own = _own_sessions(paths)
    conflicts = []
    for role, port in local.port_map().items():
        if port_is_free(port):
            continue
        pid, what = _listener(port)
        if pid is not None:
            try:
                if os.getsid(pid) in own:
                    continue  # this stack's own component, still running
            except ProcessLookupError:
                continue
        setting = "local.ports.worker_base" if role.startswith("worker") else f"local.ports.{role}"
        holder = f"pid {pid}: {what}" if pid else what
        conflicts.append(f"port {port} ({role}) is in use by {holder} — or set {setting}")
    if conflicts:
        raise HelixFlowError(
            "; ".join(conflicts),
            hint="stop what holds the port, or pick another with `helixflow config set local.ports.ROLE PORT`",
        )


def check_binaries() -> None:
    from helixflow.stacks.targets.local.prereqs import check_services

    missing = [f"{r.name}: {r.detail}" for r in check_services() if r.status == "fail"]
    if missing:
        raise HelixFlowError(f"missing prerequisites: {'; '.join(missing)}", hint="run ./scripts/setup.sh")


def resolve_model(local: LocalSettings) -> Path:
    """The GGUF file the workers serve: the configured one, or the tiny offline model."""
    if local.model_path:
        return Path(local.model_path).expanduser().resolve()
    from helixflow.runtime.engine.tiny_model import ensure_tiny_model

    return ensure_tiny_model()


def preflight(local: LocalSettings, paths: LocalPaths) -> LocalHost:
    """Raises HelixFlowError for a missing binary, a port held by something else, or no model."""
    from helixflow.stacks.targets.local.prereqs import postgres_bin_dir

    check_binaries()
    check_ports(local, paths)
    pg_dir = postgres_bin_dir()
    if pg_dir is None:  # check_binaries has refused this already; a race with an uninstall
        raise HelixFlowError("PostgreSQL binaries not found", hint="run ./scripts/setup.sh")
    return LocalHost(
        model_path=resolve_model(local),
        postgres_bin_dir=pg_dir,
        python=sys.executable,
        run_postgres_as="postgres" if os.geteuid() == 0 else None,
    )
