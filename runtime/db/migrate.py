"""Alembic driven from Python: no alembic.ini, the scripts live in ``migrations/`` beside this file."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool
from sqlalchemy.exc import SQLAlchemyError

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


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Raises MigrationError."""
    try:
        command.upgrade(_config(url), revision)
    except SQLAlchemyError as err:
        raise MigrationError(f"migration failed: {type(err).__name__}: {err.args[0] if err.args else ''}") from err


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
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as err:
        raise MigrationError(f"cannot reach the database: {type(err).__name__}") from err
    finally:
        engine.dispose()
