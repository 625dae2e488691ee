"""Launching the pool's processes on one machine: CPU engines and the router.

Used by the `local` stack and the tests. Secrets travel in the environment where
the program allows it (the engine reads `HELIXFLOW_ENGINE_API_KEY`); the router
only takes its worker key on the command line.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from helixflow.runtime.pool.process import ManagedProcess
from helixflow.runtime.pool.router import RouterSpec

ENGINE_API_KEY_ENV = "HELIXFLOW_ENGINE_API_KEY"


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def cpu_engine_argv(
    model: Path, served_model_name: str, *, host: str = "127.0.0.1", port: int, threads: int = 1
) -> list[str]:
    return [
        sys.executable, "-m", "helixflow.runtime.engine", "--model", str(model),
        "--served-model-name", served_model_name, "--host", host, "--port", str(port), "--threads", str(threads),
    ]  # fmt: skip


def cpu_engine_process(
    model: Path,
    served_model_name: str,
    *,
    port: int,
    log_path: Path,
    host: str = "127.0.0.1",
    threads: int = 1,
    api_key: str | None = None,
) -> ManagedProcess:
    """A CPU engine, not yet started (call `.start()`); ready when `/health` answers."""
    return ManagedProcess(
        name=f"cpu-engine:{port}",
        argv=cpu_engine_argv(model, served_model_name, host=host, port=port, threads=threads),
        log_path=log_path,
        ready_url=f"http://{host}:{port}/health",
        env={ENGINE_API_KEY_ENV: api_key or ""},
    )


def router_process(spec: RouterSpec, *, log_path: Path) -> ManagedProcess:
    """sglang-router from its spec, not yet started; ready when `/liveness` answers.

    Readiness of the pool (a healthy worker) is a separate question: see
    `RouterAdmin.wait_for_workers`.
    """
    return ManagedProcess(
        name=f"sglang-router:{spec.port}",
        argv=spec.argv(),
        log_path=log_path,
        ready_url=f"{spec.url}/liveness",
        # The router logs with ANSI colours unless told otherwise.
        env={"NO_COLOR": "1", "RUST_LOG_STYLE": "never"},
    )
