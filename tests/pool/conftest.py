"""Fixtures for the pool tier: real CPU engines (llama.cpp + the tiny model) and a real sglang-router."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helixflow.runtime.engine.tiny_model import ensure_tiny_model
from helixflow.runtime.pool.router import RouterSpec
from tests.support.pool_processes import cpu_engine_process, router_process
from tests.support.processes import ManagedProcess, free_port

MODEL_NAME = "tiny"


def _need_llama() -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("llama-cpp-python is not installed (./scripts/setup.sh installs it)")


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    _need_llama()
    return ensure_tiny_model()


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pool-logs")


EngineFactory = Callable[..., ManagedProcess]
RouterFactory = Callable[..., tuple[ManagedProcess, RouterSpec]]


@pytest.fixture
def start_engine(tiny_model: Path, log_dir: Path) -> Iterator[EngineFactory]:
    """Start CPU engines on free ports; all are stopped after the test."""
    started: list[ManagedProcess] = []

    def start(port: int | None = None, api_key: str | None = None) -> ManagedProcess:
        port = port or free_port()
        proc = cpu_engine_process(
            tiny_model, MODEL_NAME, port=port, log_path=log_dir / f"engine-{port}.log", api_key=api_key
        )
        started.append(proc)
        return proc.start(timeout_s=30)

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def shared_engine(tiny_model: Path, log_dir: Path) -> Iterator[ManagedProcess]:
    """One engine for a whole module of read-mostly tests (starting one costs ~1 s)."""
    port = free_port()
    proc = cpu_engine_process(tiny_model, MODEL_NAME, port=port, log_path=log_dir / f"engine-{port}.log")
    yield proc.start(timeout_s=30)
    proc.stop()


@pytest.fixture
def start_router(log_dir: Path) -> Iterator[RouterFactory]:
    started: list[ManagedProcess] = []

    def start(**fields: object) -> tuple[ManagedProcess, RouterSpec]:
        port = free_port()
        spec = RouterSpec.model_validate({"port": port, "prometheus_port": free_port(), **fields})
        proc = router_process(spec, log_path=log_dir / f"router-{port}.log")
        started.append(proc)
        return proc.start(timeout_s=30), spec

    yield start
    for proc in started:
        proc.stop()


def engine_url(proc: ManagedProcess) -> str:
    return proc.ready_url.removesuffix("/health")
