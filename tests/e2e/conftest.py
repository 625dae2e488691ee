"""A `local` stack in a throwaway HELIXFLOW_HOME, on ports nothing else uses, driven through the CLI."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from helixflow.stacks.targets.local.ports import port_is_free
from tests.tiers import require_services

ROLES = (
    "https", "http", "gateway", "auth", "router", "monitoring", "router_metrics", "postgres", "redis", "prometheus",
)  # fmt: skip
WORKERS = 2


def free_port_block(count: int) -> list[int]:
    """count consecutive ports, all free now, in a range the defaults do not use."""
    for _ in range(200):
        base = random.randrange(20000, 29000)
        ports = list(range(base, base + count))
        if all(port_is_free(p) for p in ports):
            return ports
    raise RuntimeError("no free block of ports found")


@dataclass
class LocalStack:
    home: Path
    name: str
    ports: dict[str, int]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "HELIXFLOW_HOME": str(self.home)}

    def cli(
        self, *args: str, timeout: float = 300, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "helixflow.cli.main", *args, *(["-s", self.name] if _takes_stack(args) else [])],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env or self.env,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "helixflow.cli.main", *args, "-s", self.name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            start_new_session=True,  # its own process group, like a command started from a terminal
        )

    def cli_json(self, *args: str) -> tuple[int, Any]:
        proc = self.cli(*args, "--json")
        try:
            return proc.returncode, json.loads(proc.stdout)
        except ValueError:
            raise AssertionError(f"no JSON from {args}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}") from None

    def ensure_up(self) -> None:
        """Bring the stack up (healthy) unless it already is: each test owns the state it needs."""
        if self.cli("status").returncode != 0:
            proc = self.cli("up", "--yes", "--no-validate")
            assert proc.returncode == 0, proc.stderr
        assert self.cli("status").returncode == 0

    def write_config(self, local: dict[str, Any]) -> None:
        config_file = self.home / "project" / f"Pulumi.{self.name}.yaml"
        config_file.parent.mkdir(parents=True, exist_ok=True)
        document = yaml.safe_load(config_file.read_text()) if config_file.exists() else {}
        document = document or {}
        config = document.setdefault("config", {})
        config["helixflow:local"] = local
        config_file.write_text(yaml.safe_dump(document))

    def secrets(self) -> dict[str, str]:
        """The stack's generated secrets, decrypted with its passphrase (tests only)."""
        code = (
            "import json,sys\n"
            "from helixflow.stacks.driver import StackDriver\n"
            f"s = StackDriver({self.name!r})._stack()\n"
            "print(json.dumps({k: v.value for k, v in s.get_all_config().items()}))\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=self.env, check=True)
        return {k.partition(":")[2]: v for k, v in json.loads(proc.stdout).items() if isinstance(v, str)}


def _takes_stack(args: tuple[str, ...]) -> bool:
    return bool(args) and args[0] in {"up", "down", "status", "outputs", "logs", "refresh", "preview"}


def default_local_config(ports: list[int]) -> dict[str, Any]:
    named = dict(zip(ROLES, ports, strict=False))
    named["worker_base"] = ports[len(ROLES)]
    return {"ports": named, "workers": WORKERS, "gateway_processes": 2}


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    require_services("a local stack")
    home = Path(tempfile.mkdtemp(prefix="helixflow-e2e-"))
    ports = free_port_block(len(ROLES) + WORKERS)
    stack = LocalStack(home=home, name="e2e", ports=dict(zip(ROLES, ports, strict=False)))
    stack.write_config(default_local_config(ports))
    yield stack
    # leave nothing running and no data behind, whatever the tests did
    stack.cli("down", "--purge-data", "--yes", timeout=120)
    shutil.rmtree(home, ignore_errors=True)
