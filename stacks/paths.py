"""Where a stack keeps its state, configuration, secrets, data and logs.

    $HELIXFLOW_HOME (default ~/.helixflow)
      passphrase                 encrypts the stack's secrets (mode 0600)
      state/                     the Pulumi file backend
      project/                   Pulumi.yaml and Pulumi.<stack>.yaml (the configuration)
      stacks/<stack>/            logs/, run/ (pid files), data/, tls/, nginx/
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT = "helixflow"
STACK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


def helixflow_home() -> Path:
    return Path(os.environ.get("HELIXFLOW_HOME") or Path.home() / ".helixflow").expanduser().resolve()


@dataclass(frozen=True)
class StackPaths:
    home: Path
    stack: str

    @classmethod
    def for_stack(cls, stack: str) -> StackPaths:
        return cls(home=helixflow_home(), stack=stack)

    @property
    def passphrase_file(self) -> Path:
        return self.home / "passphrase"

    @property
    def backend_dir(self) -> Path:
        return self.home / "state"

    @property
    def project_dir(self) -> Path:
        return self.home / "project"

    @property
    def config_file(self) -> Path:
        return self.project_dir / f"Pulumi.{self.stack}.yaml"

    @property
    def stack_dir(self) -> Path:
        return self.home / "stacks" / self.stack

    @property
    def logs_dir(self) -> Path:
        return self.stack_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.stack_dir / "run"

    @property
    def data_dir(self) -> Path:
        return self.stack_dir / "data"

    @property
    def postgres_data_dir(self) -> Path:
        """PostgreSQL runs as the `postgres` user when we are root, and that user cannot
        enter root's home: its data then lives under /var/lib/helixflow, keyed by this home."""
        if os.geteuid() != 0:
            return self.data_dir / "postgres"
        key = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path("/var/lib/helixflow") / key / self.stack / "postgres"

    def log_file(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"
