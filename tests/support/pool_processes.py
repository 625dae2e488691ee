"""Test and benchmark launchers of the pool's processes: CPU engines and sglang-router."""

from __future__ import annotations

from pathlib import Path

from helixflow.runtime.pool.local import ENGINE_API_KEY_ENV, cpu_engine_argv
from helixflow.runtime.pool.router import RouterSpec
from tests.support.processes import ManagedProcess


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
        env={"NO_COLOR": "1", "RUST_LOG_STYLE": "never", **spec.env()},
    )
