"""Starts HelixFlow runtime services (and the fake pool) as real processes, the way the stack runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.support.processes import free_port, stop, wait_for_port
from tests.tiers import require_services

REPO = Path(__file__).resolve().parents[2]


def runtime_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The HELIXFLOW_* environment of a development stack on this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIXFLOW_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    # A PYTHONPATH the tests run under comes first (it may map ``helixflow`` to a checkout being tested).
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(REPO)) if p)
    env.update({"HELIXFLOW_ENV": "development", "HELIXFLOW_DATABASE_URL": database_url,
                "HELIXFLOW_REDIS_URL": redis_url, "PYTHONPATH": path})
    env.update(extra)
    return env


class Service:
    """``python -m <module>`` on a free port; ``url`` once started. Output goes to ``log_path``."""

    def __init__(self, module: str, port_variable: str | None, env: dict[str, str],
                 args: list[str] | None = None, port: int | None = None, health_path: str = "/health/live") -> None:
        self.module, self.args, self.health_path = module, args or [], health_path
        self.port = port or free_port()
        self.env = dict(env)
        if port_variable:
            self.env[port_variable] = str(self.port)
        if module == "tests.support.fake_pool":
            self.args = ["--port", str(self.port), *self.args]
        self.process: subprocess.Popen[bytes] | None = None
        name = module.rsplit(".", 1)[-1]
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"helixflow-{name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Service:
        require_services(self.module)
        health_path = self.health_path
        log = self.log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", self.module, *self.args], env=self.env, cwd=REPO,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(self.port, timeout, self.process)
            if health_path:
                deadline = time.monotonic() + timeout
                while httpx.get(self.url + health_path).status_code != 200:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{self.module} not healthy")
                    time.sleep(0.1)
        except Exception as err:
            self.stop()
            raise RuntimeError(f"{self.module} failed to start: {self.log_tail()}") from err
        return self

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group (workers included): a crash, not a shutdown."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            if self.process.poll() is None:
                self.kill()
            self.process = None

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()


def run_module(module: str, args: list[str], env: dict[str, str],
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def migrate_and_bootstrap(env: dict[str, str], tenant: str = "acme") -> str:
    """Apply the schema and create the first tenant and admin; returns the admin's API key."""
    import orjson

    migrated = run_module("helixflow.runtime.db", ["upgrade"], env)
    assert migrated.returncode == 0, migrated.stderr
    boot = run_module(
        "helixflow.runtime.bootstrap",
        ["bootstrap", "--tenant", tenant, "--username", "root", "--email", f"root@{tenant}.test",
         "--password", "root-password", "--json"],
        env,
    )  # fmt: skip
    assert boot.returncode == 0, boot.stderr
    return str(orjson.loads(boot.stdout)["api_key"])
