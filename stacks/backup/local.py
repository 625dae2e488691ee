"""Backups and restores of a local stack: pg_dump into the stack's backup folder, and a restore that
stops the writers, swaps in the restored database, and lets `up` bring the writers back.

    $HELIXFLOW_HOME/stacks/<stack>/backups/   (kept by `down --purge-data`: that is what they are for)
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from helixflow.runtime.db.roles import SCHEMA
from helixflow.stacks.backup import pg
from helixflow.stacks.backup.archive import BackupFolder
from helixflow.stacks.backup.model import WRITERS, BackupInfo, RestoreSummary, StepClock, serving_refusal
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.targets.local.paths import LocalPaths


def backup_folder(paths: LocalPaths) -> BackupFolder:
    return BackupFolder(paths.stack.stack_dir / "backups", paths.stack.stack)


def _bin_dir() -> Path:
    """Where the server's own pg_dump and pg_restore are: the same major version as the server they serve
    (/usr/local/bin may hold a link to the server binary only, so links are followed)."""
    from helixflow.stacks.targets.local.prereqs import postgres_bin_dir

    found = postgres_bin_dir()
    server_dir = (found / "postgres").resolve().parent if found else None
    if server_dir is None or not (server_dir / "pg_dump").exists() or not (server_dir / "pg_restore").exists():
        raise HelixFlowError("PostgreSQL's pg_dump and pg_restore are not installed beside its server",
                             hint="run ./scripts/setup.sh (it installs PostgreSQL)")  # fmt: skip
    return server_dir


def _components(outputs: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    components = outputs.get("components")
    if not isinstance(components, dict) or "postgres" not in components or not outputs.get("database_url"):
        raise HelixFlowError("the stack is not deployed", hint="bring it up with `helixflow up`")
    if not outputs.get("database_admin_url"):
        raise HelixFlowError("the stack was deployed by an earlier release (its services still connect as the "
                             "database's superuser)", hint="run `helixflow up` once to upgrade it")  # fmt: skip
    return components


def _states(components: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    from helixflow.stacks.targets.local.status import component_statuses

    return {s.name: s.state for s in component_statuses(components)}


def _require_database(outputs: Mapping[str, Any]) -> tuple[pg.Database, pg.Database]:
    """(as the runtime's role, as the superuser): the role dumps the schema it owns; only a restore (a new
    database, renamed into place) needs the superuser."""
    if _states(_components(outputs)).get("postgres") != "healthy":
        raise HelixFlowError("the stack's PostgreSQL is not running", hint="start it with `helixflow up`")
    runtime, admin = (pg.Database.from_url(str(outputs[key])) for key in ("database_url", "database_admin_url"))
    pg.recover_interrupted_swap(admin)
    return runtime, admin


def take_backup(paths: LocalPaths, outputs: Mapping[str, Any], retention_days: int, kind: str = "manual") -> BackupInfo:
    """A compressed custom-format pg_dump of the runtime database, then backups past retention pruned."""
    db, _ = _require_database(outputs)
    folder = backup_folder(paths)
    now = dt.datetime.now(dt.UTC)
    partial, final = folder.new_partial(now, kind)
    try:
        pg.dump(db, partial, _bin_dir(), schema=SCHEMA)
        info = folder.seal(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    pruned = folder.prune(retention_days, now, keep=info.name)
    return BackupInfo(info.name, info.location, info.size_bytes, info.created, info.kind, pruned)


def verify(paths: LocalPaths, reference: str) -> Path:
    """The backup's file, once its checksum matches and pg_restore has read all of it."""
    folder = backup_folder(paths)
    archive = folder.resolve(reference)
    folder.check_checksum(archive)
    pg.verify_archive(archive, _bin_dir())
    return archive


def _migrate(admin: pg.Database, runtime: pg.Database) -> None:
    """The restored database (owned by the superuser that restored it) is handed to the runtime's role, and a
    backup of an earlier release (tables in `public`) gets this release's schema, before it goes live."""
    env = {**os.environ, "HELIXFLOW_DATABASE_URL": runtime.named(admin.name).url(),
           "HELIXFLOW_DATABASE_ADMIN_URL": admin.url()}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "helixflow.runtime.db", "upgrade"], capture_output=True, text=True,
                          env=env, check=False, timeout=300)  # fmt: skip
    if proc.returncode != 0:
        pg.drop_database(admin, admin.name)
        raise HelixFlowError(f"the restored database's migrations failed: {proc.stderr.strip()[-400:]}",
                             hint="the live database was not changed")  # fmt: skip


def _restore_and_swap(db: pg.Database, runtime: pg.Database, archive: Path) -> None:
    import psycopg

    try:
        fresh = pg.restore_into_fresh(db, archive, _bin_dir())
        _migrate(fresh, runtime)
        pg.swap_in(db, fresh)
    except psycopg.Error as err:
        raise HelixFlowError(f"the restore failed: {err}", hint="the live database was not changed") from None


def _restart_after_failure(restart: Callable[[], None], failure: BaseException) -> None:
    try:
        restart()
    except HelixFlowError as err:
        if isinstance(failure, HelixFlowError):  # both failures are the user's to know
            failure.message += f"; and the stopped services did not come back ({err.message})"
            failure.hint = f"{failure.hint}; run `helixflow up` to start them"


def _stop_writers(components: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
    from helixflow.components.processes import is_running, stop_process

    stopped = []
    for name in WRITERS:
        info = components.get(name) or {}
        pid, started = info.get("pid"), info.get("started")
        pid = int(pid) if isinstance(pid, int | float) else None
        started = int(started) if isinstance(started, int | float) else None
        if is_running(pid, started):
            stop_process(pid, started, timeout=15)
            stopped.append(name)
    return tuple(stopped)


def restore(
    paths: LocalPaths,
    read_outputs: Callable[[], Mapping[str, Any]],
    reference: str,
    *,
    confirmed: bool,
    retention_days: int,
    restart: Callable[[], None],
) -> RestoreSummary:
    """Replace the runtime database with a backup's. Nothing is changed when the backup fails its checks,
    when the gateway is serving and the restore is not `confirmed`, or when pg_restore fails; the database
    as it was is first saved as a `pre-restore` backup, so a restore can be undone."""
    clock = StepClock()
    lap = clock.lap
    archive = verify(paths, reference)  # before the engine is asked anything
    lap("verify")
    outputs = read_outputs()
    components = _components(outputs)
    runtime, db = _require_database(outputs)
    lap("read_outputs")
    if _states(components).get("gateway") == "healthy" and not confirmed:
        raise serving_refusal()
    safety = take_backup(paths, outputs, retention_days, kind="pre-restore")
    lap("safety_backup")
    stopped = _stop_writers(components)
    lap("stop_writers")
    try:
        _restore_and_swap(db, runtime, archive)
    except BaseException as failure:
        _restart_after_failure(restart, failure)  # the writers come back on the database they left, unchanged
        raise
    lap("restore")
    try:
        restart()
    except HelixFlowError as err:
        raise HelixFlowError(f"the database is restored, but {', '.join(stopped)} did not come back: {err.message}",
                             hint="run `helixflow up` to start them") from None  # fmt: skip
    lap("restart")
    return RestoreSummary(restored=archive.name, safety_backup=safety.name, stopped=stopped, seconds=clock.seconds)
