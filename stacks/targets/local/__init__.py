"""The `local` target: the whole platform as processes on this machine, no cloud account.

Everything local lives here and in `components/local`: pid files, ports, log files, health probes.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from helixflow.stacks.backup.model import BackupInfo, RestoreSummary
from helixflow.stacks.config import LocalStack
from helixflow.stacks.config.common import GPU, HIGH_AVAILABILITY, PUBLIC_DNS
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.prereqs import Prerequisite
from helixflow.stacks.secrets import SecretSource
from helixflow.stacks.targets.base import ComponentStatus, Program, Target
from helixflow.stacks.targets.local.paths import LocalPaths
from helixflow.stacks.targets.local.preflight import LocalHost

CERTIFICATE_RENEWAL = dt.timedelta(days=7)


class LocalTarget(Target[LocalStack]):
    name = "local"
    description = "the whole platform as processes on this machine, no cloud account"
    config_model = LocalStack
    unsupported: ClassVar[Mapping[str, str]] = {
        GPU: "CPU engine workers (llama.cpp) stand in for SGLang GPU workers",
        HIGH_AVAILABILITY: "one process per data store; the cloud targets use managed HA services",
        PUBLIC_DNS: "TLS from a CA the stack generates; trust it with the outputs' CA file",
    }
    status_columns = ("port", "pid", "dead_letters")

    def preflight(self, config: LocalStack, paths: StackPaths) -> LocalHost:
        from helixflow.stacks.targets.local.preflight import preflight

        local_paths = LocalPaths(paths)
        for directory in (local_paths.logs_dir, local_paths.run_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return preflight(config.local, local_paths)

    def program(self, config: LocalStack, secrets: SecretSource, paths: StackPaths, host: LocalHost) -> Program:
        from helixflow.stacks.targets.local.program import build_local_program

        return build_local_program(config.local, secrets, LocalPaths(paths), host)

    def doctor_checks(self, config: LocalStack | None) -> dict[str, Callable[[], list[Prerequisite]]]:
        from helixflow.stacks.targets.local.prereqs import check_ports, check_services

        local = (config or LocalStack()).local
        return {"services": check_services, "ports": lambda: check_ports(local)}

    def needs_refresh(self, outputs: Mapping[str, Any]) -> bool:
        """When every component answers its own probe and the certificate is not due, the answer is
        known: skip the refresh (~2 s)."""
        from helixflow.stacks.targets.local.status import component_statuses

        components = outputs.get("components")
        not_after = outputs.get("certificate_not_after")
        if not isinstance(components, dict) or not components or not isinstance(not_after, str):
            return True
        if dt.datetime.fromisoformat(not_after) - CERTIFICATE_RENEWAL <= dt.datetime.now(dt.UTC):
            return True
        return not all(s.state == "healthy" for s in component_statuses(components))

    def status(self, outputs: Mapping[str, Any]) -> list[ComponentStatus]:
        from helixflow.stacks.targets.local.status import component_statuses

        return component_statuses(outputs.get("components") or {})

    def purge(self, config: LocalStack, paths: StackPaths) -> None:
        local_paths = LocalPaths(paths)
        for directory in (local_paths.data_dir, local_paths.postgres_data_dir, local_paths.tls_dir):
            shutil.rmtree(directory, ignore_errors=True)

    def log_file(self, paths: StackPaths, component: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", component):  # a name, never a path
            raise HelixFlowError(f"invalid component name {component!r}", hint="e.g. gateway, router, worker-0")
        return LocalPaths(paths).log_file(component)

    def log_components(self, paths: StackPaths) -> list[str]:
        logs = LocalPaths(paths).logs_dir
        return sorted(p.stem for p in logs.glob("*.log")) if logs.exists() else []

    def backup(
        self, config: LocalStack, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], *, retention_days: int,
        destination: str | None = None,
    ) -> BackupInfo:  # fmt: skip
        from helixflow.stacks.backup import bucket, local

        if not destination:
            return local.take_backup(LocalPaths(paths), outputs(), retention_days)
        if not bucket.is_bucket_url(destination):
            raise HelixFlowError(
                f"a local stack backs up into its own backup folder or a bucket, not {destination!r}",
                hint=f"drop --to (backups go to {local.backup_folder(LocalPaths(paths)).directory}), "
                "or give s3://bucket/prefix/ or gs://bucket/prefix/",
            )
        prefix = bucket.BucketPrefix.parse(destination)  # before the engine is asked anything
        # the folder keeps a copy (and its retention applies there); the bucket's own lifecycle rules expire its
        return bucket.upload(local.take_backup(LocalPaths(paths), outputs(), retention_days), prefix)

    def backups(self, config: LocalStack, paths: StackPaths, source: str | None = None,
                outputs: Callable[[], Mapping[str, Any]] | None = None) -> list[BackupInfo]:  # fmt: skip
        from helixflow.stacks.backup import bucket, local

        if source:
            return bucket.list_backups(bucket.BucketPrefix.parse(source))
        return local.backup_folder(LocalPaths(paths)).list()

    def restore(
        self, config: LocalStack, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], backup: str, *,
        confirmed: bool, retention_days: int, restart: Callable[[], None],
    ) -> RestoreSummary:  # fmt: skip
        from helixflow.stacks.backup import bucket, local

        if bucket.is_bucket_url(backup):  # fetched into the folder, then checked there like any of its backups
            backup = bucket.fetch(backup, local.backup_folder(LocalPaths(paths)).directory).name
        return local.restore(LocalPaths(paths), outputs, backup, confirmed=confirmed, retention_days=retention_days,
                             restart=restart)  # fmt: skip
