"""What the backup verbs report: one backup, and what a restore did."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from helixflow.stacks.errors import HelixFlowError

DEFAULT_RETENTION_DAYS = 30  # the seed's routine keeps 30 days
WRITERS = ("gateway", "auth", "monitoring")  # the services that write to the database; the gateway serves


class StepClock:
    """How long each step of a restore took, in order (RestoreSummary.seconds)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.monotonic()

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.seconds[step] = now - self._since
        self._since = now


def serving_refusal() -> HelixFlowError:
    """What a restore says, with nothing changed, when the gateway serves and the user did not confirm."""
    return HelixFlowError("the gateway is serving: a restore stops it and replaces every user, key and usage "
                          "record written since the backup", hint="add --yes to restore anyway; nothing was changed")


@dataclass(frozen=True)
class BackupInfo:
    """One backup of a stack's database. `location` is a file path or a bucket URI; `kind` is
    `manual` (`helixflow backup`), `pre-restore` (the state a restore replaced, kept to undo it) or
    `cluster-job` (a run of a cluster stack's backup CronJob: `name` is the Job's)."""

    name: str
    location: str
    size_bytes: int | None  # None: known only where it was written (a cluster job's dump, in its bucket)
    created: dt.datetime
    kind: str = "manual"
    pruned: tuple[str, ...] = ()  # backups past retention that taking this one deleted

    def age_seconds(self, now: dt.datetime | None = None) -> float:
        return ((now or dt.datetime.now(dt.UTC)) - self.created).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "location": self.location,
            "size_bytes": self.size_bytes,
            "created": self.created.isoformat(),
            "age_seconds": round(self.age_seconds(), 1),
            "kind": self.kind,
        }


@dataclass(frozen=True)
class RestoreSummary:
    """What `helixflow restore` did: which backup went live, what it replaced, how long each step took."""

    restored: str
    safety_backup: str  # the backup of the database as it was just before, to undo the restore
    stopped: tuple[str, ...]
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "restored": self.restored,
            "safety_backup": self.safety_backup,
            "stopped": list(self.stopped),
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def human_size(size: int | None) -> str:
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def human_age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds / length:.1f}{unit}"
    return f"{seconds:.0f}s"
