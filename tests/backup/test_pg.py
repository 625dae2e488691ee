"""pg_dump, the archive check and the fresh-database swap against a real PostgreSQL: a truncated or
corrupt archive is refused before anything is touched, and a failing restore leaves the live database."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from helixflow.stacks.backup import pg
from helixflow.stacks.errors import HelixFlowError
from tests.support.postgres import PG_BIN, PostgresServer

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as running:
        yield running


@pytest.fixture
def db(server: PostgresServer) -> Iterator[pg.Database]:
    database = pg.Database.from_url(server.url + "?options=-c%20default_transaction_read_only%3Don")
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS usage")
        conn.execute("CREATE TABLE usage (id serial PRIMARY KEY, tenant text NOT NULL, tokens int NOT NULL)")
        conn.execute("INSERT INTO usage (tenant, tokens) SELECT 't' || (g % 7), g FROM generate_series(1, 20000) g")
    yield database


def rows(server: PostgresServer) -> list[tuple[int, str, int]]:
    with psycopg.connect(server.url) as conn:
        return conn.execute("SELECT id, tenant, tokens FROM usage ORDER BY id").fetchall()  # type: ignore[return-value]


def test_the_url_parts_and_the_read_only_option_dropped() -> None:
    db = pg.Database.from_url("postgresql://u%40x:p%2Fw@127.0.0.1:15432/helixflow?options=-c%20x")
    assert (db.user, db.password, db.port, db.name) == ("u@x", "p/w", 15432, "helixflow")
    assert "p/w" not in " ".join(db.tool_args()) and "p/w" not in db.conninfo()
    with pytest.raises(HelixFlowError):
        pg.Database.from_url("mysql://x/y")


def test_a_dump_restores_into_a_fresh_database_and_takes_the_live_name(
    server: PostgresServer, db: pg.Database, tmp_path: Path
) -> None:
    archive = tmp_path / "b.dump"
    pg.dump(db, archive, PG_BIN)
    pg.verify_archive(archive, PG_BIN)
    before = rows(server)
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("DELETE FROM usage WHERE id > 10")
    idle = psycopg.connect(server.url)  # a session left open on the live database is ended by the swap
    fresh = pg.restore_into_fresh(db, archive, PG_BIN)
    pg.swap_in(db, fresh)
    assert rows(server) == before
    with pytest.raises(psycopg.OperationalError, match="terminating connection"):
        idle.execute("SELECT 1")
    idle.close()
    with psycopg.connect(server.url) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
    assert {db.name + pg.RESTORING_SUFFIX, db.name + pg.REPLACED_SUFFIX}.isdisjoint(names)


def test_a_swap_cut_between_its_renames_is_recovered_before_anything_else(
    server: PostgresServer, db: pg.Database
) -> None:
    before = rows(server)
    with psycopg.connect(db.named("postgres").conninfo(), password=db.password, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{db.name}" RENAME TO "{db.name}{pg.REPLACED_SUFFIX}"')  # the first rename only
    assert pg.recover_interrupted_swap(db) is True
    assert rows(server) == before
    assert pg.recover_interrupted_swap(db) is False  # nothing to recover: nothing touched


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_archive_is_refused_by_the_full_read(db: pg.Database, tmp_path: Path, damage: str) -> None:
    archive = tmp_path / "b.dump"
    pg.dump(db, archive, PG_BIN)
    data = bytearray(archive.read_bytes())
    if damage == "truncated":
        del data[len(data) * 2 // 3 :]
    else:
        middle = len(data) // 2
        data[middle : middle + 64] = os.urandom(64)
    archive.write_bytes(bytes(data))
    with pytest.raises(HelixFlowError, match=r"is truncated(,| or) corrupt") as err:
        pg.verify_archive(archive, PG_BIN)
    assert err.value.hint and "nothing was changed" in err.value.hint


def test_a_failing_restore_leaves_the_live_database_and_no_fresh_one(
    server: PostgresServer, db: pg.Database, tmp_path: Path
) -> None:
    archive = tmp_path / "b.dump"
    pg.dump(db, archive, PG_BIN)
    shutil.copy(archive, tmp_path / "whole.dump")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    before = rows(server)
    with pytest.raises(HelixFlowError, match=r"pg_restore of b\.dump failed") as err:
        pg.restore_into_fresh(db, archive, PG_BIN)
    assert err.value.hint and "not changed" in err.value.hint
    assert rows(server) == before
    with psycopg.connect(server.url) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (db.name + pg.RESTORING_SUFFIX,)).fetchone() is None  # fmt: skip
