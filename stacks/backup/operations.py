"""The backup verbs for any stack: what differs between targets is asked of its Target.

Taking or restoring a backup reads the stack's outputs (secrets included: the database URL) through
the driver; a local restore brings the writers back with the driver's `up` (a cluster stack's scales its
Deployments back itself: `up` leaves their replica counts to the HPA).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from helixflow.stacks.backup.model import DEFAULT_RETENTION_DAYS, BackupInfo, RestoreSummary
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.locks import describe_live_lock

if TYPE_CHECKING:
    from helixflow.stacks.driver import StackDriver


def _check_retention(days: int) -> int:
    if days < 1:
        raise HelixFlowError(f"retention of {days} days would delete the backup just taken",
                             hint="give --retention-days 1 or more (default 30)")  # fmt: skip
    return days


def _require_idle(driver: StackDriver) -> None:
    held = describe_live_lock(driver.paths.backend_dir, driver.name)
    if held:
        raise HelixFlowError(f"stack '{driver.name}' is busy: {held}", hint="wait for that run to finish")


def backup(
    driver: StackDriver, retention_days: int = DEFAULT_RETENTION_DAYS, destination: str | None = None
) -> BackupInfo:
    config = driver.load_config()
    target = driver.target()
    _check_retention(retention_days)
    return target.backup(config, driver.paths, lambda: driver.outputs(show_secrets=True), retention_days=retention_days,
                         destination=destination)  # fmt: skip


def list_backups(driver: StackDriver, source: str | None = None) -> list[BackupInfo]:
    config = driver.load_config()
    return driver.target().backups(config, driver.paths, source=source,
                                   outputs=lambda: driver.outputs(show_secrets=False))  # fmt: skip


def restore(
    driver: StackDriver,
    backup_name: str,
    *,
    confirmed: bool,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    on_event: Callable[[Any], None] | None = None,
) -> RestoreSummary:
    config = driver.load_config()
    target = driver.target()
    _check_retention(retention_days)
    _require_idle(driver)

    def restart() -> None:
        driver.up(on_event=on_event)

    def outputs() -> dict[str, Any]:
        return driver.outputs(show_secrets=True)

    return target.restore(config, driver.paths, outputs, backup_name, confirmed=confirmed,
                          retention_days=retention_days, restart=restart)  # fmt: skip
