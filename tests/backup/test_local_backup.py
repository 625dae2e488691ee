"""Backups on the local target, for real: usage written through the gateway is backed up, the stack's data
is purged (`down --purge-data`, then a fresh `up`), and a restore brings every row back. A truncated or
corrupt backup, and a restore while the gateway serves without --yes, are refused with nothing changed.

The tests share one stack and one backup of it (module-scoped fixtures); each also passes alone."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from tests.e2e.conftest import LocalStack
from tests.support.postgres import PG_BIN

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
TABLES = ("tenants", "users", "api_keys", "requests")


def outputs_with_secrets(stack: LocalStack) -> dict[str, Any]:
    rc, outputs = stack.cli_json("outputs", "--show-secrets")
    assert rc == 0
    return dict(outputs)


def chat(outputs: dict[str, Any], request_id: str) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=outputs["ca_file"]), timeout=30) as client:
        response = client.post(
            f"{outputs['endpoint']}/v1/chat/completions",
            headers={"Authorization": f"Bearer {outputs['admin_api_key']}", "X-Request-ID": request_id},
            json={"model": outputs["model"], "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
        )
    assert response.status_code == 200, response.text


def snapshot(stack: LocalStack) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a restore must bring back, in a stable order."""
    url = outputs_with_secrets(stack)["database_url"]
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def request_ids(stack: LocalStack) -> set[str]:
    url = outputs_with_secrets(stack)["database_url"]
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT client_request_id FROM requests").fetchall() if r[0]}


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def backups_dir(stack: LocalStack) -> Path:
    return stack.home / "stacks" / stack.name / "backups"


@dataclass(frozen=True)
class BackedUp:
    """A stack with usage written through the gateway, and a backup of it taken through the CLI."""

    stack: LocalStack
    backup: str
    location: Path
    before: dict[str, list[tuple[Any, ...]]]
    sent: frozenset[str]
    seconds: float


@pytest.fixture(scope="module")
def backed_up(local_stack: LocalStack) -> BackedUp:
    local_stack.ensure_up()
    outputs = outputs_with_secrets(local_stack)
    sent = frozenset(f"backup-{uuid.uuid4().hex}" for _ in range(5))
    for request_id in sent:
        chat(outputs, request_id)
    wait_for(lambda: sent <= request_ids(local_stack), 30, "the usage rows")
    before = snapshot(local_stack)
    started = time.monotonic()
    rc, taken = local_stack.cli_json("backup", "-s", local_stack.name)
    seconds = time.monotonic() - started
    assert rc == 0, taken
    return BackedUp(local_stack, taken["name"], Path(taken["location"]), before, sent, seconds)


def ensure_restored(backed: BackedUp) -> None:
    """The stack up and holding the backed-up rows (an earlier test may have purged and restored it)."""
    backed.stack.ensure_up()
    assert snapshot(backed.stack) == backed.before


class TestBackupAndRestore:
    def test_backup_of_written_usage_is_listed_with_size_and_age(self, backed_up: BackedUp) -> None:
        stack, archive = backed_up.stack, backed_up.location
        assert all(backed_up.before[t] for t in TABLES)
        assert archive.parent == backups_dir(stack) and archive.read_bytes()[:5] == b"PGDMP"
        assert (archive.parent / f"{archive.name}.sha256").exists()
        rc, listed = stack.cli_json("backup", "list", "-s", stack.name)
        assert rc == 0
        entry = next(b for b in listed["backups"] if b["name"] == backed_up.backup)
        assert entry["size_bytes"] == archive.stat().st_size > 0
        assert 0 <= entry["age_seconds"] < 900 and entry["kind"] == "manual"
        rows = sum(map(len, backed_up.before.values()))
        print(f"\nbackup of {rows} rows: {backed_up.seconds:.2f}s (CLI wall time)")

    def test_a_restore_while_the_gateway_serves_needs_yes(self, backed_up: BackedUp) -> None:
        local_stack = backed_up.stack
        ensure_restored(backed_up)
        dumps = sorted(backups_dir(local_stack).glob("*.dump"))
        proc = local_stack.cli("restore", backed_up.backup, "-s", local_stack.name)
        assert proc.returncode == 1
        assert "the gateway is serving" in proc.stderr and "--yes" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert sorted(backups_dir(local_stack).glob("*.dump")) == dumps  # not even a pre-restore backup

    @pytest.mark.parametrize("damage", ["truncated", "corrupt"])
    def test_a_damaged_backup_is_refused_and_nothing_changes(
        self, backed_up: BackedUp, tmp_path: Path, damage: str
    ) -> None:
        local_stack = backed_up.stack
        ensure_restored(backed_up)
        good = backed_up.location
        data = bytearray(good.read_bytes())
        if damage == "truncated":  # a dump from elsewhere, cut short: no checksum, the full read finds it
            bad = tmp_path / "cut.dump"
            bad.write_bytes(bytes(data[: len(data) // 2]))
            expected = "is truncated"
        else:  # one of ours with flipped bytes: its checksum no longer matches
            bad = backups_dir(local_stack) / good.name.replace(".dump", "-9.dump")
            middle = len(data) // 2
            data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
            bad.write_bytes(bytes(data))
            shutil.copy(good.with_name(good.name + ".sha256"), bad.with_name(bad.name + ".sha256"))
            expected = "does not match its checksum"
        proc = local_stack.cli("restore", str(bad), "--yes", "-s", local_stack.name)
        assert proc.returncode == 1 and expected in proc.stderr and "nothing was changed" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert local_stack.cli("status").returncode == 0  # the writers never stopped
        assert snapshot(local_stack) == backed_up.before
        if damage == "corrupt":
            bad.unlink()
            bad.with_name(bad.name + ".sha256").unlink()

    def test_purged_data_comes_back_with_every_row(self, backed_up: BackedUp) -> None:
        local_stack = backed_up.stack
        rc, summary = local_stack.cli_json("down", "--purge-data", "--yes")
        assert rc == 0 and summary["purged"] is True
        assert local_stack.cli("up", "--yes", "--no-validate").returncode == 0
        assert not backed_up.sent & request_ids(local_stack)  # a fresh, empty platform
        assert (backups_dir(local_stack) / backed_up.backup).exists()  # backups outlive the purge

        started = time.monotonic()
        rc, restored = local_stack.cli_json("restore", backed_up.backup, "--yes", "-s", local_stack.name)
        seconds = time.monotonic() - started
        assert rc == 0, restored
        assert restored["restored"] == backed_up.backup
        assert set(restored["stopped"]) == {"gateway", "auth", "monitoring"}
        assert local_stack.cli("status").returncode == 0  # the writers are back
        assert snapshot(local_stack) == backed_up.before
        # the database the restore replaced is kept as a backup, so the restore can be undone
        rc, listed = local_stack.cli_json("backup", "list", "-s", local_stack.name)
        kinds = {b["name"]: b["kind"] for b in listed["backups"]}
        assert kinds[restored["safety_backup"]] == "pre-restore"
        steps = ", ".join(f"{k} {v:.2f}s" for k, v in restored["seconds"].items())
        print(f"\nrestore: {seconds:.2f}s (CLI wall time; {steps})")


def foreign_dump(stack: LocalStack, destination: Path) -> None:
    """A well-formed dump that cannot go live: its schema is at a migration this release does not know."""
    url = urlsplit(outputs_with_secrets(stack)["database_admin_url"])
    admin = f"postgresql://{url.username}:{url.password}@{url.hostname}:{url.port}"
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS scratch")
        conn.execute("CREATE DATABASE scratch")
    try:
        with psycopg.connect(f"{admin}/scratch", autocommit=True) as conn:
            conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
            conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
        env = {**stack.env, "PGPASSWORD": str(url.password)}
        subprocess.run([str(PG_BIN / "pg_dump"), "--format=custom", f"--dbname={admin}/scratch", "--file",
                        str(destination)], check=True, env=env, capture_output=True)  # fmt: skip
    finally:
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS scratch")


def test_a_restore_that_fails_after_the_writers_stopped_changes_nothing_and_brings_them_back(
    backed_up: BackedUp, tmp_path: Path
) -> None:
    stack = backed_up.stack
    ensure_restored(backed_up)
    archive = tmp_path / "future.dump"
    foreign_dump(stack, archive)
    proc = stack.cli("restore", str(archive), "--yes", "-s", stack.name)
    assert proc.returncode == 1, proc.stderr
    assert "migrations failed" in proc.stderr and "the live database was not changed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert stack.cli("status").returncode == 0  # gateway, auth and monitoring are back
    assert snapshot(stack) == backed_up.before
