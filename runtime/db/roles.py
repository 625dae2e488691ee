"""The admin step before the migrations: the runtime's own PostgreSQL role and the schema it owns.

    provision(admin_url, runtime_url)

connects with the admin URL (the cluster's superuser, or the RDS / Cloud SQL master user) and makes sure,
idempotently, that:

- the role named by the runtime URL exists with that URL's password: LOGIN NOSUPERUSER NOCREATEDB
  NOCREATEROLE NOREPLICATION NOBYPASSRLS (a rerun resets attributes and password: rotation is a rerun);
- schema `helixflow` exists, is owned by it, and so is every relation in it. A database of an earlier
  release (HelixFlow's tables in `public`, owned by the admin) has them moved in, rows and all;
- the role's search_path is that schema;
- PUBLIC keeps nothing on the database (CONNECT, TEMPORARY) nor CREATE on `public`; the role gets CONNECT.

The migrations then run as the role (see migrate.py), so it owns every table they create. All SQL is
composed with psycopg.sql: identifiers and the password are quoted by the driver, never by string pasting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA = "helixflow"
# The name the targets give the runtime's role; the local superuser is `helixflow`, hence the suffix.
RUNTIME_ROLE = "helixflow_app"
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
# pg_class.relkind -> the ALTER statement that moves it / changes its owner (indexes and owned sequences follow
# their table)
_RELATION_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE",
                   "f": "FOREIGN TABLE"}  # fmt: skip


class ProvisionError(RuntimeError):
    """The admin step could not run; the message says what to fix."""


@dataclass(frozen=True)
class Endpoint:
    """What the admin step needs of a URL: who connects, with which password, to which database."""

    user: str
    password: str
    database: str

    @classmethod
    def from_url(cls, url: str, what: str) -> Endpoint:
        from psycopg.conninfo import conninfo_to_dict

        try:
            parts = conninfo_to_dict(url)
        except Exception as err:  # psycopg.ProgrammingError for a malformed URL
            raise ProvisionError(f"{what} is not a valid postgresql:// URL: {err}") from None
        user, password, database = (str(parts.get(key) or "") for key in ("user", "password", "dbname"))
        if not user or not database:
            raise ProvisionError(f"{what} must name a user and a database (postgresql://USER:PASSWORD@HOST/DB)")
        return cls(user, password, database)


def provision(admin_url: str, runtime_url: str) -> None:
    """The admin step (see the module's docstring). Raises ProvisionError."""
    import psycopg

    role = Endpoint.from_url(runtime_url, "HELIXFLOW_DATABASE_URL")
    admin = Endpoint.from_url(admin_url, "HELIXFLOW_DATABASE_ADMIN_URL")
    if role.user == admin.user:
        raise ProvisionError(
            f"HELIXFLOW_DATABASE_URL and HELIXFLOW_DATABASE_ADMIN_URL both connect as {role.user!r}: the runtime "
            "needs a role of its own (give the runtime URL another user, or leave the admin URL unset)"
        )
    if not role.password:
        raise ProvisionError("HELIXFLOW_DATABASE_URL has no password: the runtime's role needs one")
    try:
        # The admin URL may name any database of the server: the step runs in the runtime's.
        with psycopg.connect(admin_url, dbname=role.database, connect_timeout=10) as conn, conn.transaction():
            _provision(conn, role)
    except psycopg.Error as err:
        raise ProvisionError(f"the admin step failed: {type(err).__name__}: {str(err).strip()}") from err


def _provision(conn: Any, role: Endpoint) -> None:
    from psycopg import sql

    name, schema = sql.Identifier(role.user), sql.Identifier(SCHEMA)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.user,)).fetchone()
    verb = sql.SQL("ALTER ROLE") if exists else sql.SQL("CREATE ROLE")
    conn.execute(sql.SQL("{} {} " + ROLE_ATTRIBUTES + " PASSWORD {}").format(verb, name, sql.Literal(role.password)))
    superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
    if not superuser:
        # RDS / Cloud SQL: a master user may hand objects to a role only as a member of it
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(name))
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(schema, name))
    conn.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(schema, name))
    adopt(conn, SCHEMA)  # a database of an earlier release: its tables, into the schema
    for relname, kind in conn.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = ANY(%s) AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))",
        (SCHEMA, list(_RELATION_KINDS), role.user),
    ).fetchall():
        conn.execute(sql.SQL("ALTER {} {} OWNER TO {}").format(
            sql.SQL(_RELATION_KINDS[kind]), sql.Identifier(SCHEMA, relname), name))  # fmt: skip
    conn.execute(sql.SQL("ALTER ROLE {} SET search_path = {}").format(name, schema))
    database = sql.Identifier(role.database)
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, name))
    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def adopt(conn: Any, schema: str) -> list[str]:
    """A database of an earlier release has HelixFlow's tables (and Alembic's version table) in `public`: each
    relation there moves into `schema` (a catalog change: rows, indexes, constraints, owned sequences and foreign
    keys go with it), once, while `schema` has no version table of its own. Returns the names moved. Also run by
    the migrations themselves on a single-URL database, as the tables' owner (migrations/env.py)."""
    from psycopg import sql

    found = conn.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'alembic_version' AND n.nspname IN ('public', %s)", (schema,)
    ).fetchall()
    if [row[0] for row in found] != ["public"]:
        return []
    moved = []
    for relname, kind in conn.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))"
        " ORDER BY c.relname",
        (list(_RELATION_KINDS),),
    ).fetchall():
        conn.execute(sql.SQL("ALTER {} {} SET SCHEMA {}").format(
            sql.SQL(_RELATION_KINDS[kind]), sql.Identifier("public", relname), sql.Identifier(schema)))  # fmt: skip
        moved.append(relname)
    return moved
