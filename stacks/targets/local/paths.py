"""Where a local stack keeps its processes' pid files, data, certificates and configuration files."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from helixflow.stacks.paths import StackPaths


@dataclass(frozen=True)
class LocalPaths:
    """Under stacks/<stack>/: logs/, run/ (pid files), data/, tls/, nginx/."""

    stack: StackPaths

    @property
    def logs_dir(self) -> Path:
        return self.stack.logs_dir

    def log_file(self, component: str) -> Path:
        return self.stack.log_file(component)

    @property
    def tls_dir(self) -> Path:
        return self.stack.stack_dir / "tls"

    @property
    def nginx_dir(self) -> Path:
        return self.stack.stack_dir / "nginx"

    @property
    def run_dir(self) -> Path:
        return self.stack.stack_dir / "run"

    @property
    def data_dir(self) -> Path:
        return self.stack.stack_dir / "data"

    @property
    def postgres_data_dir(self) -> Path:
        """PostgreSQL runs as the `postgres` user when we are root, and that user cannot
        enter root's home: its data then lives under /var/lib/helixflow, keyed by this home."""
        if os.geteuid() != 0:
            return self.data_dir / "postgres"
        key = hashlib.sha256(str(self.stack.home).encode()).hexdigest()[:12]
        return Path("/var/lib/helixflow") / key / self.stack.stack / "postgres"
