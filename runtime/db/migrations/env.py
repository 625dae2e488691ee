"""Alembic environment: runs the migrations online against the URL that `helixflow.runtime.db` passes in.

HelixFlow's tables live in schema `helixflow` (Alembic's version table too). Before the migrations run, the
schema is made (when the role may: a single-URL database without the admin step) and a database of an
earlier release has its tables moved in from `public`; then the session's search_path is that schema, so
each table a migration creates lands in it, owned by whoever runs them.
"""

from __future__ import annotations

from alembic import context
from psycopg import sql
from sqlalchemy import create_engine, pool

from helixflow.runtime.db.roles import SCHEMA, adopt

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "helixflow.runtime.db sets sqlalchemy.url"
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None, version_table_schema=SCHEMA)
    with context.begin_transaction():
        raw = connection.connection.driver_connection  # psycopg's own: composes identifiers safely
        assert raw is not None
        if raw.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone() is None:
            raw.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        adopt(raw, SCHEMA)
        raw.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(SCHEMA)))
        context.run_migrations()
engine.dispose()
