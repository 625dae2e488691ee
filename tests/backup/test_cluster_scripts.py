"""The cluster jobs' own shell scripts (the backup CronJob's dump, the restore template's check and restore),
run for real with sh and PostgreSQL's tools against a real server whose schema the release's migrations made;
and the S3 copy commands between them, run with the real AWS CLI against moto's S3 server. The simulated
cluster runs no container, so this is where what the pods run is tested. (Not run anywhere: the gs:// copies,
whose `gcloud` is not served here; and the pods run aws-cli v2, this test the v1 from PyPI, whose `s3 cp`
filters and recursion are the same.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from helixflow.components.k8s.backup import DUMP_SCRIPT, UPLOAD_COMMANDS
from helixflow.components.k8s.restore import FETCH_COMMANDS, RESTORE_SCRIPT
from helixflow.stacks.backup import bucket
from tests.backup.conftest import BUCKET
from tests.support.postgres import PG_BIN, PostgresServer

pytestmark = pytest.mark.services
ROLE, PASSWORD = "helixflow_app", "app-secret"
REPO = Path(__file__).resolve().parents[2]
# ./scripts/setup.sh links it there, off PATH, so it never stands in for a user's own `aws`
AWS_CLI = Path(sys.executable).parent.parent / "tools" / "aws"


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as running:
        yield running


def _role_url(server: PostgresServer) -> str:
    return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{server.port}/{server.database}"


def _migrate(server: PostgresServer) -> None:
    env = {**os.environ, "HELIXFLOW_DATABASE_URL": _role_url(server), "HELIXFLOW_DATABASE_ADMIN_URL": server.url}
    proc = subprocess.run([sys.executable, "-m", "helixflow.runtime.db", "upgrade"], env=env, capture_output=True,
                          text=True, check=False, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def database(server: PostgresServer) -> str:
    """The release's schema, owned by the runtime's role, with 500 rows of a table of the role's own."""
    _migrate(server)
    with psycopg.connect(_role_url(server), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS helixflow.probe")
        conn.execute("CREATE TABLE helixflow.probe (id int PRIMARY KEY, note text NOT NULL)")
        conn.execute("INSERT INTO helixflow.probe SELECT g, 'row ' || g FROM generate_series(1, 500) g")
    return _role_url(server)


def _sh(script: str, directory: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PATH": f"{PG_BIN}:{os.environ['PATH']}", "BACKUP_DIR": str(directory), **env}
    return subprocess.run(["sh", "-c", script], env=full, capture_output=True, text=True, check=False, timeout=120)


def _dump(directory: Path, url: str, kind: str = "") -> str:
    proc = _sh(DUMP_SCRIPT, directory, DATABASE_URL=url, BACKUP_KIND=kind)
    assert proc.returncode == 0, proc.stderr
    [name] = [p.name for p in directory.glob("*.dump")]
    return name


def _restore(directory: Path, name: str, server: PostgresServer, mode: str = "restore",
             admin: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return _sh(RESTORE_SCRIPT, directory, BACKUP_NAME=name, RESTORE_MODE=mode, BUCKET_URI="s3://b/backups/",
               DATABASE_URL=_role_url(server), ADMIN_URL=admin or server.url)  # fmt: skip


def _probe(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, note FROM helixflow.probe ORDER BY id").fetchall()


def _owners(server: PostgresServer) -> set[str]:
    with psycopg.connect(server.url) as conn:
        rows = conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'helixflow' UNION "
                            "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'helixflow'").fetchall()
    return {str(owner) for (owner,) in rows}


def test_a_dump_restores_every_row_into_a_schema_the_runtimes_role_owns(
    database: str, server: PostgresServer, tmp_path: Path
) -> None:
    before = _probe(database)
    name = _dump(tmp_path, database, kind="pre-restore")
    assert name.endswith("-pre-restore.dump") and (tmp_path / f"{name}.sha256").is_file()
    with psycopg.connect(database, autocommit=True) as conn:  # what happened after the backup
        conn.execute("DELETE FROM helixflow.probe WHERE id > 10")
        conn.execute("CREATE TABLE helixflow.written_later (id int)")
    proc = _restore(tmp_path, name, server)
    assert proc.returncode == 0, proc.stderr
    assert f"backup {name} restored" in proc.stdout
    assert _probe(database) == before
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regclass('helixflow.written_later')").fetchone() == (None,)
    assert _owners(server) == {ROLE}  # the services may write every table again, as before
    _migrate(server)  # what the job's last container runs: at head already, nothing to do


def test_verify_mode_reads_the_backup_and_changes_nothing(
    database: str, server: PostgresServer, tmp_path: Path
) -> None:
    name = _dump(tmp_path, database)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DELETE FROM helixflow.probe WHERE id > 10")
    proc = _restore(tmp_path, name, server, mode="verify")
    assert proc.returncode == 0, proc.stderr
    assert f"backup {name} verified" in proc.stdout
    assert len(_probe(database)) == 10


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "no-checksum", "missing"])
def test_a_damaged_or_missing_backup_is_refused_and_nothing_changes(
    database: str, server: PostgresServer, tmp_path: Path, damage: str
) -> None:
    name = _dump(tmp_path, database)
    archive = tmp_path / name
    data = archive.read_bytes()
    if damage == "truncated":
        archive.write_bytes(data[: len(data) // 2])
    elif damage == "corrupt":
        archive.write_bytes(data[:100] + bytes(b ^ 0xFF for b in data[100:200]) + data[200:])
    elif damage == "no-checksum":
        (tmp_path / f"{name}.sha256").unlink()
    else:
        name = "helixflow-20200101T000000Z.dump"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DELETE FROM helixflow.probe WHERE id > 10")
    proc = _restore(tmp_path, name, server)
    assert proc.returncode == 1
    expected = {"truncated": "does not match its checksum", "corrupt": "does not match its checksum",
                "no-checksum": f"has no {name}.sha256", "missing": "helixflow backup list shows the names"}[damage]
    assert expected in proc.stderr
    assert len(_probe(database)) == 10  # untouched


def test_a_restore_that_fails_part_way_is_rolled_back_whole(
    database: str, server: PostgresServer, tmp_path: Path
) -> None:
    name = _dump(tmp_path, database)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DELETE FROM helixflow.probe WHERE id > 10")
    # as the runtime's role, which may drop its schema but not make one: the transaction fails after the DROP
    proc = _restore(tmp_path, name, server, admin=database)
    assert proc.returncode == 1
    assert "rolled back: the database is as it was" in proc.stderr
    assert len(_probe(database)) == 10
    assert _owners(server) == {ROLE}


def _pod_command(argv: list[str], volume: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A container's command as the kubelet runs it: $(VAR) from the container's env, /backup/ the volume."""
    assert AWS_CLI.exists(), "the AWS CLI is missing: ./scripts/setup.sh installs it (scripts/install-python-tool.sh)"
    expanded = [re.sub(r"\$\(([A-Z_]+)\)", lambda m: env[m[1]], arg).replace("/backup/", f"{volume}/")
                for arg in argv]  # fmt: skip
    assert expanded[0] == "aws"
    return subprocess.run([str(AWS_CLI), *expanded[1:]], env={**os.environ, **env}, capture_output=True, text=True,
                          check=False, timeout=120)  # fmt: skip


def test_a_backup_goes_to_the_bucket_and_its_restore_fetches_only_that_one(
    database: str, server: PostgresServer, tmp_path: Path, s3: Any
) -> None:
    prefix = f"s3://{BUCKET}/backups/"
    dumped = tmp_path / "dump-volume"
    dumped.mkdir()
    name = _dump(dumped, database)
    upload = _pod_command(UPLOAD_COMMANDS["s3"], dumped, BUCKET_URI=prefix)
    assert upload.returncode == 0, upload.stderr
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [f"backups/{name}", f"backups/{name}.sha256"]
    # what `helixflow backup list` then shows of the job's upload
    [listed] = bucket.list_backups(bucket.BucketPrefix.parse(prefix))
    assert (listed.name, listed.kind, listed.size_bytes) == (name, "manual", (dumped / name).stat().st_size)

    for other in ("helixflow-20200101T000000Z.dump", "helixflow-20200101T000000Z.dump.sha256",
                  f"older/{name}", f"{name}.bak"):  # fmt: skip
        s3.put_object(Bucket=BUCKET, Key=f"backups/{other}", Body=b"not this one")
    fetched = tmp_path / "restore-volume"
    fetched.mkdir()
    fetch = _pod_command(FETCH_COMMANDS["s3"], fetched, BUCKET_URI=prefix, BACKUP_NAME=name)
    assert fetch.returncode == 0, fetch.stderr
    assert sorted(p.name for p in fetched.iterdir()) == [name, f"{name}.sha256"]
    assert (fetched / name).read_bytes() == (dumped / name).read_bytes()

    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DELETE FROM helixflow.probe WHERE id > 10")
    proc = _restore(fetched, name, server)
    assert proc.returncode == 0, proc.stderr
    assert len(_probe(database)) == 500


def test_fetching_a_backup_the_bucket_lacks_leaves_the_restore_to_refuse_it(
    database: str, server: PostgresServer, tmp_path: Path, s3: Any
) -> None:
    # `aws s3 cp --recursive` that matches nothing copies nothing and succeeds: the restore step says why
    name = "helixflow-20200101T000000Z.dump"
    fetch = _pod_command(FETCH_COMMANDS["s3"], tmp_path, BUCKET_URI=f"s3://{BUCKET}/backups/", BACKUP_NAME=name)
    assert fetch.returncode == 0, fetch.stderr
    assert not list(tmp_path.iterdir())
    proc = _restore(tmp_path, name, server)
    assert proc.returncode == 1 and "helixflow backup list shows the names" in proc.stderr
    assert len(_probe(database)) == 500
