"""The target contract: everything that differs between targets, behind one interface.

The driver, the CLI verbs, `status`, `outputs`, `doctor` and `validate` call only this.
A target is one module under `stacks/targets/` registered in `stacks/targets/__init__.py`.

Building a target's program must not touch the host (no binary lookups, files, processes):
what the program needs from the host is found by `preflight`, which runs before the
engine, and handed to `program` as a typed object. So any program can also run under
Pulumi's mocks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

from helixflow.stacks.backup.model import BackupInfo, RestoreSummary
from helixflow.stacks.config import StackBase
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.prereqs import Prerequisite
from helixflow.stacks.secrets import SecretSource

ConfigT = TypeVar("ConfigT", bound=StackBase)
State = Literal["healthy", "unhealthy", "down", "pending"]


@dataclass(frozen=True)
class ComponentStatus:
    """One component of a deployed stack as its target sees it now.

    `details` are the target's own columns (a local process's port and pid; a Deployment's replicas)."""

    name: str
    kind: str
    state: State
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **self.details, "state": self.state}


@dataclass(frozen=True)
class TargetInfo:
    """What `helixflow targets` shows of a target."""

    name: str
    description: str
    available: bool
    unavailable_reason: str
    unsupported: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "available": self.available,
            "unavailable_reason": self.unavailable_reason,
            "unsupported": dict(self.unsupported),
        }


Program = Callable[[], None]


class Target(ABC, Generic[ConfigT]):
    """One deployment target. Subclasses set the class attributes and implement the hooks.

    Methods raise HelixFlowError (message + hint) for anything a user can act on."""

    name: ClassVar[str]
    description: ClassVar[str]
    config_model: ClassVar[type[StackBase]]
    # feature (as StackBase.requested_features names it) -> why this target does not offer it
    unsupported: ClassVar[Mapping[str, str]] = {}
    status_columns: ClassVar[tuple[str, ...]] = ()  # the `details` keys `helixflow status` shows
    # what a target without `helixflow backup` offers instead
    backup_hint: ClassVar[str] = (
        "cluster stacks are backed up by the pg_dump CronJob (components/k8s/backup.py) into their bucket, "
        "and by the managed database's own automated backups"
    )

    # --- what it is -------------------------------------------------------------------------
    def unavailable_reason(self) -> str:
        """Why this target cannot be deployed in this release, or "" when it can."""
        return ""

    def info(self) -> TargetInfo:
        reason = self.unavailable_reason()
        return TargetInfo(self.name, self.description, not reason, reason, self.unsupported)

    def require_deployable(self, config: ConfigT) -> None:
        """Refuses an unavailable target, or a configuration asking for a feature this target lacks."""
        reason = self.unavailable_reason()
        if reason:
            raise HelixFlowError(
                f"target {self.name!r} cannot be deployed: {reason}",
                hint="use target local (see `helixflow targets`)",
            )
        refused = sorted(config.requested_features() & set(self.unsupported))
        if refused:
            why = "; ".join(f"{feature}: {self.unsupported[feature]}" for feature in refused)
            raise HelixFlowError(
                f"target {self.name!r} does not support what this stack asks for: {why}",
                hint="remove those settings from the stack, or choose a target that offers them (`helixflow targets`)",
            )

    # --- before the engine ------------------------------------------------------------------
    @abstractmethod
    def preflight(self, config: ConfigT, paths: StackPaths) -> Any:
        """Check and find on the host what the program needs (binaries, free ports, files, credentials);
        returns it for `program`. Runs before the engine starts."""

    @abstractmethod
    def program(self, config: ConfigT, secrets: SecretSource, paths: StackPaths, host: Any) -> Program:
        """The inline Pulumi program. Building it touches nothing; the engine runs it (and only then are the
        stack's secrets read, from `secrets`)."""

    def doctor_checks(self, config: ConfigT | None) -> dict[str, Callable[[], list[Prerequisite]]]:
        """Check groups `helixflow doctor` runs for this target (group name -> checks)."""
        return {}

    # --- after the engine -------------------------------------------------------------------
    def needs_refresh(self, outputs: Mapping[str, Any]) -> bool:
        """Whether `up` must first ask every resource if it is still there (default: always)."""
        return True

    @abstractmethod
    def status(self, outputs: Mapping[str, Any]) -> list[ComponentStatus]:
        """Each component's state, from the stack's outputs and what answers now."""

    def check_down(self, config: ConfigT, paths: StackPaths, outputs: Mapping[str, Any]) -> None:
        """Raises HelixFlowError when `down` must not run now (data stores under deletion protection); `outputs`
        are the last deployment's. Runs before the engine starts."""

    def purge(self, config: ConfigT, paths: StackPaths) -> None:
        """Delete the data `down` keeps (`down --purge-data`), after the engine removed the resources."""

    def log_file(self, paths: StackPaths, component: str) -> Path:
        """Where a component's log is (`helixflow logs`)."""
        raise HelixFlowError(
            f"target {self.name!r} keeps no log files for `helixflow logs`",
            hint="read the component's logs where the target keeps them",
        )

    def log_components(self, paths: StackPaths) -> list[str]:
        return []

    # --- day two: backups (`helixflow backup`, `backup list`, `restore`) ---------------------
    def _no_backups(self, verb: str) -> HelixFlowError:
        return HelixFlowError(f"target {self.name!r} does not support `helixflow {verb}` in this release",
                              hint=self.backup_hint)  # fmt: skip

    def backup(
        self, config: ConfigT, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], *, retention_days: int,
        destination: str | None = None,
    ) -> BackupInfo:  # fmt: skip
        """Back up the runtime database (to `destination`, or where the target keeps backups), then delete
        backups older than retention_days. `outputs()` reads the stack's outputs, secrets included (an engine
        start: called only once the target knows it can back up)."""
        raise self._no_backups("backup")

    def backups(self, config: ConfigT, paths: StackPaths, source: str | None = None,
                outputs: Callable[[], Mapping[str, Any]] | None = None) -> list[BackupInfo]:  # fmt: skip
        """The stack's backups, newest first (those under `source`, a bucket URL, when given). `outputs()` reads
        the stack's outputs (an engine start), for a target whose backups' place only the outputs know."""
        raise self._no_backups("backup list")

    def restore(
        self, config: ConfigT, paths: StackPaths, outputs: Callable[[], Mapping[str, Any]], backup: str, *,
        confirmed: bool, retention_days: int, restart: Callable[[], None],
    ) -> RestoreSummary:  # fmt: skip
        """Replace the runtime database with a backup's: refused, with nothing changed, for a backup that fails
        its checks, or while the gateway serves unless `confirmed`. Stops the writers, restores, and calls
        `restart` (the driver's `up`) to bring them back."""
        raise self._no_backups("restore")
