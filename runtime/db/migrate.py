"""Alembic driven from Python: no alembic.ini, the scripts live in ``migrations/`` beside this file.

With an admin URL, the admin step (roles.py: the runtime's role and its schema) runs first, and the
migrations then run as the runtime's role, so it owns every table. Without one, they run as the URL's
user (a role that owns schema `helixflow`, or may create it).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from psycopg import Error as PsycopgError
from sqlalchemy import create_engine, pool
from sqlalchemy.exc import SQLAlchemyError

from helixflow.runtime.db.roles import SCHEMA, ProvisionError, provision

MIGRATIONS = Path(__file__).with_name("migrations")


class MigrationError(RuntimeError):
    """The database could not be reached or a migration failed."""


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` as the psycopg 3 driver wants it (asyncpg keeps the plain form)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    raise MigrationError(f"HELIXFLOW_DATABASE_URL must start with postgresql://, got {url.split(':', 1)[0]}://")


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation treats % specially (URL-encoded passwords).
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", admin_url: str | None = None) -> None:
    """Apply migrations up to ``revision`` as ``url``'s user, after the admin step when ``admin_url`` is given.
    Raises MigrationError."""
    sqlalchemy_url(url)  # the scheme, checked before anything connects
    if admin_url:
        sqlalchemy_url(admin_url)
        try:
            provision(admin_url, url)
        except ProvisionError as err:
            raise MigrationError(str(err)) from err
    try:
        command.upgrade(_config(url), revision)
    except SQLAlchemyError as err:
        raise MigrationError(f"migration failed: {type(err).__name__}: {err.args[0] if err.args else ''}") from err
    except PsycopgError as err:  # the schema's preparation in migrations/env.py
        raise MigrationError(f"migration failed: {type(err).__name__}: {str(err).strip()} (the user of "
                             f"HELIXFLOW_DATABASE_URL must own schema {SCHEMA!r} or be allowed to create it; "
                             "or set HELIXFLOW_DATABASE_ADMIN_URL)") from err


def downgrade(url: str, revision: str = "base") -> None:
    """Revert migrations down to ``revision``. Raises MigrationError."""
    try:
        command.downgrade(_config(url), revision)
    except SQLAlchemyError as err:
        raise MigrationError(f"migration failed: {type(err).__name__}") from err


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an empty database. Raises MigrationError."""
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table_schema": SCHEMA})
            return context.get_current_revision()
    except SQLAlchemyError as err:
        raise MigrationError(f"cannot reach the database: {type(err).__name__}") from err
    finally:
        engine.dispose()
