"""pg_dump, pg_restore and the database swap a restore ends with.

The password travels in PGPASSWORD (the environment of our own child), never on a command line.
A restore goes into a fresh database first and only then takes the live one's name, so a backup
that fails half-way leaves the live database exactly as it was.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from helixflow.stacks.errors import HelixFlowError

RESTORING_SUFFIX = "_restoring"
REPLACED_SUFFIX = "_replaced"
TIMEOUT = 3600  # seconds for one pg_dump or pg_restore: large databases take a while


@dataclass(frozen=True)
class Database:
    """Where a PostgreSQL database is, as the pg_* tools and psycopg take it."""

    host: str
    port: int
    user: str
    password: str
    name: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        """From postgresql://user:password@host:port/name (query options, e.g. read-only sessions, dropped)."""
        parsed = urlparse(url)
        if parsed.scheme not in ("postgresql", "postgres") or not parsed.path.strip("/"):
            raise HelixFlowError("the stack's database URL is not a postgresql:// URL",
                                 hint="run `helixflow up` to bring the stack up again")  # fmt: skip
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            user=unquote(parsed.username or "postgres"),
            password=unquote(parsed.password or ""),
            name=parsed.path.strip("/"),
        )

    def named(self, name: str) -> Database:
        return Database(self.host, self.port, self.user, self.password, name)

    def url(self) -> str:
        return f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}/" \
               f"{quote(self.name, safe='')}"

    def conninfo(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={self.name} connect_timeout=5"

    def tool_args(self) -> list[str]:
        return ["--host", self.host, "--port", str(self.port), "--username", self.user, "--no-password"]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=TIMEOUT)
    except FileNotFoundError:
        raise HelixFlowError(
            f"{argv[0]} is not installed", hint="run ./scripts/setup.sh (it installs PostgreSQL)"
        ) from None
    except subprocess.TimeoutExpired:
        raise HelixFlowError(
            f"{Path(argv[0]).name} ran past {TIMEOUT}s", hint="check the database's size and load"
        ) from None


def _last_lines(text: str, count: int = 3) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[-count:]) or "no output"


def dump(db: Database, destination: Path, bin_dir: Path, schema: str | None = None) -> None:
    """A compressed custom-format dump of db (of `schema` only, with its CREATE SCHEMA, when given: what a role
    owning just that schema can read) into destination. Raises HelixFlowError with pg_dump's reason."""
    only = ["--schema", schema] if schema else []
    proc = _run([str(bin_dir / "pg_dump"), *db.tool_args(), "--dbname", db.name, *only, "--format=custom",
                 "--compress=6", "--no-owner", "--no-privileges", "--file", str(destination)],
                env=db.env())  # fmt: skip
    if proc.returncode != 0:
        destination.unlink(missing_ok=True)
        raise HelixFlowError(f"pg_dump of database {db.name!r} failed: {_last_lines(proc.stderr)}",
                             hint="is the stack up? `helixflow status` shows its database")  # fmt: skip


def verify_archive(archive: Path, bin_dir: Path) -> None:
    """Reads the whole archive as pg_restore would (table of contents, then every data block decompressed,
    into /dev/null): a truncated or corrupt archive is refused here, before anything is touched."""
    listing = _run([str(bin_dir / "pg_restore"), "--list", str(archive)])
    if listing.returncode != 0:
        reason = _last_lines(listing.stderr, 2)
        raise HelixFlowError(f"{archive.name} is truncated, corrupt or not a pg_dump archive: {reason}",
                             hint="choose another backup (`helixflow backup list`); nothing was changed")  # fmt: skip
    decoded = _run([str(bin_dir / "pg_restore"), "--file", os.devnull, str(archive)])
    if decoded.returncode != 0:
        raise HelixFlowError(f"{archive.name} is truncated or corrupt: {_last_lines(decoded.stderr, 2)}",
                             hint="choose another backup (`helixflow backup list`); nothing was changed")  # fmt: skip


def restore_into_fresh(db: Database, archive: Path, bin_dir: Path) -> Database:
    """Creates `<name>_restoring` and restores archive into it in one transaction; returns it.
    On failure the fresh database is dropped and HelixFlowError raised: the live one was never touched."""
    import psycopg
    from psycopg import sql

    fresh = db.named(db.name + RESTORING_SUFFIX)
    with psycopg.connect(db.named("postgres").conninfo(), password=db.password, autocommit=True) as conn:
        _drop(conn, fresh.name)  # a leftover of a restore that was interrupted
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(fresh.name))
        )
    proc = _run([str(bin_dir / "pg_restore"), *fresh.tool_args(), "--dbname", fresh.name, "--exit-on-error",
                 "--single-transaction", "--no-owner", "--no-privileges", str(archive)], env=fresh.env())  # fmt: skip
    if proc.returncode != 0:
        drop_database(db, fresh.name)
        raise HelixFlowError(f"pg_restore of {archive.name} failed: {_last_lines(proc.stderr)}",
                             hint="the live database was not changed; choose another backup")  # fmt: skip
    return fresh


def drop_database(db: Database, name: str) -> None:
    import psycopg

    with psycopg.connect(db.named("postgres").conninfo(), password=db.password, autocommit=True) as conn:
        _drop(conn, name)


def _drop(conn: object, name: str) -> None:
    from psycopg import Connection, sql

    assert isinstance(conn, Connection)
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def recover_interrupted_swap(db: Database) -> bool:
    """A restore killed between the swap's two renames leaves the live data under `<name>_replaced` and no
    `<name>`: give it its name back (before anything could take that name, or drop the replaced one)."""
    import psycopg
    from psycopg import sql

    replaced = db.name + REPLACED_SUFFIX
    with psycopg.connect(db.named("postgres").conninfo(), password=db.password, autocommit=True) as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()}
        if db.name in names or replaced not in names:
            return False
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(replaced), sql.Identifier(db.name))
        )
        return True


def swap_in(db: Database, fresh: Database, attempts: int = 5) -> None:
    """Gives fresh the live database's name; the replaced one is dropped once the swap is done.
    Sessions still open on either database (none should be: the writers are stopped) are ended first."""
    import psycopg
    from psycopg import sql

    replaced = db.name + REPLACED_SUFFIX
    ident = sql.Identifier
    with psycopg.connect(db.named("postgres").conninfo(), password=db.password, autocommit=True) as conn:
        _drop(conn, replaced)
        for attempt in range(attempts):
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname IN (%s, %s) AND pid <> pg_backend_pid()", (db.name, fresh.name))  # fmt: skip
            try:
                conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident(db.name), ident(replaced)))
                break
            except psycopg.errors.ObjectInUse:  # a session reconnected between the two statements
                if attempt == attempts - 1:
                    drop_database(db, fresh.name)
                    raise HelixFlowError(
                        f"database {db.name!r} stays in use by another client",
                        hint="stop what connects to it and restore again; nothing was changed",
                    ) from None
                time.sleep(0.2)
        try:
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident(fresh.name), ident(db.name)))
        except psycopg.Error:
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(ident(replaced), ident(db.name)))
            raise
        _drop(conn, replaced)
