"""``python -m helixflow.runtime.bootstrap bootstrap --tenant NAME --username U --email E [--password P] [--json]``

Creates the first tenant, an admin user and an API key (see bootstrap.py for reruns).
Reads HELIXFLOW_DATABASE_URL, and HELIXFLOW_BOOTSTRAP_API_KEY when the admin's key is chosen
beforehand. Prints JSON with tenant_id, user_id, api_key (shown
once), api_key_id, key_prefix, username, role, created, and password when generated.
Exit 0 on success, 1 with one line on stderr otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import orjson

from helixflow.runtime.bootstrap.bootstrap import BootstrapError, bootstrap
from helixflow.runtime.common.serve import load_settings_or_exit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helixflow.runtime.bootstrap")
    commands = parser.add_subparsers(dest="command", required=True)
    boot = commands.add_parser("bootstrap", help="create the first tenant, admin user and API key")
    boot.add_argument("--tenant", required=True)
    boot.add_argument("--username", required=True)
    boot.add_argument("--email", required=True)
    boot.add_argument("--password", default=os.environ.get("HELIXFLOW_BOOTSTRAP_PASSWORD"),
                      help="the admin's password (default: HELIXFLOW_BOOTSTRAP_PASSWORD, else generated and printed)")
    boot.add_argument("--json", action="store_true", help="print JSON (the default output is key: value lines)")
    args = parser.parse_args(argv)
    settings = load_settings_or_exit()
    try:
        result = asyncio.run(bootstrap(settings.database_url, tenant=args.tenant, username=args.username,
                                       email=args.email, password=args.password,
                                       api_key=os.environ.get("HELIXFLOW_BOOTSTRAP_API_KEY") or None))
    except BootstrapError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
    else:
        for key, value in result.items():
            sys.stdout.write(f"{key}: {value}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
