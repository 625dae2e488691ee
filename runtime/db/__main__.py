"""`python -m helixflow.runtime.db upgrade|downgrade|current`: apply the schema with Alembic.

Reads ``HELIXFLOW_DATABASE_URL`` (the runtime's role), and ``HELIXFLOW_DATABASE_ADMIN_URL`` when set: then
`upgrade` first ensures that role and the schema it owns (roles.py), and migrates as the role.
Exit 0 on success, 1 with one line on stderr on failure.
"""

from __future__ import annotations

import argparse
import sys

from helixflow.runtime.db.migrate import MigrationError, current_revision, downgrade, upgrade
from helixflow.runtime.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helixflow.runtime.db", description=__doc__)
    parser.add_argument("command", choices=["upgrade", "downgrade", "current"])
    parser.add_argument("revision", nargs="?", default=None, help="target revision (default: head / base)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        url = settings.database_url
        if args.command == "upgrade":
            upgrade(url, args.revision or "head", admin_url=settings.database_admin_url.get_secret_value() or None)
        elif args.command == "downgrade":
            downgrade(url, args.revision or "base")
        print(current_revision(url) or "base")
    except (MigrationError, ValueError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
