"""The migrations' admin step against a real PostgreSQL: the runtime's role owns schema `helixflow` and every
table in it, holds no cluster privilege, and a database made by the previous release (tables in `public`, owned
by the superuser) is moved into the schema with every row."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import PostgresServer
from tests.support.releases import REPO, release_pythonpath

pytestmark = pytest.mark.services
# main before the runtime had a role of its own: its migrations put the tables in `public`
PUBLIC_SCHEMA_RELEASE = "a12eaf2f6a6b11919162b68e912684f46a82d02b"
ROLE, PASSWORD = "helixflow_app", "app-secret"


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as pg:
        yield pg


def _url(pg: PostgresServer, user: str = ROLE, password: str = PASSWORD, database: str = "helixflow") -> str:
    return f"postgresql://{user}:{password}@127.0.0.1:{pg.port}/{database}"


def _migrate(url: str, admin_url: str | None = None, pythonpath: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELIXFLOW_")}
    env.update({"HELIXFLOW_DATABASE_URL": url, "PYTHONPATH": str(pythonpath)})
    if admin_url:
        env["HELIXFLOW_DATABASE_ADMIN_URL"] = admin_url
    return subprocess.run([sys.executable, "-m", "helixflow.runtime.db", "upgrade"], capture_output=True, text=True,
                          env=env, check=False, timeout=120)  # fmt: skip


def _owners(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, tuple[str, str]]:
    rows = conn.execute(
        "SELECT c.relname, n.nspname, pg_get_userbyid(c.relowner) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname IN ('public', 'helixflow')"
    ).fetchall()
    return {str(name): (str(schema), str(owner)) for name, schema, owner in rows}


def _assert_least_privilege(pg: PostgresServer) -> None:
    with psycopg.connect(_url(pg), autocommit=True) as conn:
        attributes = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        assert attributes == (False, False, False, False, False)
        assert conn.execute("SHOW search_path").fetchone() == ("helixflow",)
        for statement in ("CREATE DATABASE stolen", "CREATE ROLE intruder", "CREATE SCHEMA other",
                          "CREATE TABLE public.planted (id int)"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_a_fresh_database_gets_a_role_that_owns_only_the_schema(server: PostgresServer) -> None:
    done = _migrate(_url(server), admin_url=server.url)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(server.url) as conn:
        owners = _owners(conn)
        schema_owner = conn.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace "
                                    "WHERE nspname = 'helixflow'").fetchone()  # fmt: skip
    assert {"tenants", "users", "api_keys", "requests", "alembic_version"} <= owners.keys()
    assert set(owners.values()) == {("helixflow", ROLE)}
    assert schema_owner == (ROLE,)
    _assert_least_privilege(server)
    # PUBLIC lost CONNECT: another login role of the cluster cannot reach the database
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("CREATE ROLE bystander LOGIN PASSWORD 'x'")
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(_url(server, "bystander", "x")).close()


def test_rerun_is_idempotent_and_rotates_the_password(server: PostgresServer) -> None:
    assert _migrate(_url(server), admin_url=server.url).returncode == 0
    rotated = _url(server, password="rotated-secret")
    again = _migrate(rotated, admin_url=server.url)
    assert again.returncode == 0, again.stderr
    psycopg.connect(rotated).close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_url(server)).close()


def test_a_public_schema_database_of_the_previous_release_moves_in_with_its_rows(server: PostgresServer) -> None:
    with tempfile.TemporaryDirectory(prefix="helixflow-release-") as into:
        old = _migrate(server.url, pythonpath=release_pythonpath(PUBLIC_SCHEMA_RELEASE, Path(into)))
        assert old.returncode == 0, old.stderr
    with psycopg.connect(server.url) as conn:
        assert set(_owners(conn).values()) == {("public", "helixflow")}, "the previous release's layout"
        tenant = conn.execute("INSERT INTO tenants (name) VALUES ('kept') RETURNING id").fetchone()
        assert tenant is not None
        user = conn.execute("INSERT INTO users (username, email, password_hash, tenant_id) VALUES "
                            "('u', 'u@x.test', 'h', %s) RETURNING id", tenant).fetchone()  # fmt: skip
        assert user is not None
        conn.execute("INSERT INTO requests (user_id, tenant_id, model, prompt_tokens) "
                     "SELECT %s, %s, 'm', g FROM generate_series(1, 500) g", (user[0], tenant[0]))  # fmt: skip

    done = _migrate(_url(server), admin_url=server.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0002"
    with psycopg.connect(_url(server)) as conn:  # as the role, by its search_path
        assert conn.execute("SELECT count(*), sum(prompt_tokens) FROM requests").fetchone() == (500, 125250)
        assert conn.execute("SELECT name FROM tenants").fetchall() == [("kept",)]
        conn.execute("INSERT INTO requests (model) VALUES ('new')")  # the role writes its tables
        owners = _owners(conn)
    assert set(owners.values()) == {("helixflow", ROLE)}
    _assert_least_privilege(server)


def test_a_single_url_runs_the_migrations_as_its_user_into_the_schema(server: PostgresServer) -> None:
    done = _migrate(server.url)  # no admin URL: as is (the kubernetes target's single external URL)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(server.url) as conn:
        assert set(_owners(conn).values()) == {("helixflow", "helixflow")}


def test_the_admin_and_the_runtime_may_not_be_one_user(server: PostgresServer) -> None:
    done = _migrate(server.url, admin_url=server.url)
    assert done.returncode == 1
    assert "needs a role of its own" in done.stderr
    assert "Traceback" not in done.stderr
