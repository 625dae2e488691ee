"""Where a stack keeps its state, configuration, secrets, data and logs.

    $HELIXFLOW_HOME (default ~/.helixflow)
      passphrase                 encrypts the stack's secrets (mode 0600)
      state/                     the Pulumi file backend
      project/                   Pulumi.yaml and Pulumi.<stack>.yaml (the configuration)
      stacks/<stack>/            what the stack's target keeps on this machine (logs/, ...)
"""

from __future__ import annotations

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
    def pulumi_home(self) -> Path:
        """PULUMI_HOME of every stack here: the Pulumi CLI's plugins (resource providers) live under it."""
        return self.home / "pulumi-home"

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

    def log_file(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"
