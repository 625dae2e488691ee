"""``python -m helixflow.runtime.bootstrap bootstrap --tenant NAME --username U --email E [--password P] [--json]``
``python -m helixflow.runtime.bootstrap tenant NAME [--rpm N] [--tpm N] [--monthly-tokens N] [--retire]``

Creates the first tenant, an admin user and an API key (see bootstrap.py for reruns).
Reads HELIXFLOW_DATABASE_URL, and HELIXFLOW_BOOTSTRAP_API_KEY when the admin's key is chosen
beforehand. Prints JSON with tenant_id, user_id, api_key (shown
once), api_key_id, key_prefix, username, role, created, and password when generated.
`tenant` upserts a tenant stack's record (a cluster's Job runs it; see tenants.py) with the key in
HELIXFLOW_TENANT_API_KEY, or with --retire revokes its keys; it prints JSON without the key.
Exit 0 on success, 1 with one line on stderr otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import orjson

from helixflow.runtime.bootstrap.bootstrap import BootstrapError, bootstrap
from helixflow.runtime.bootstrap.tenants import apply_record
from helixflow.runtime.common.serve import load_settings_or_exit
from helixflow.runtime.settings import RuntimeSettings


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
    tenant = commands.add_parser("tenant", help="upsert (or --retire) a tenant stack's record and preset key")
    tenant.add_argument("name")
    for flag, field in (("--rpm", "requests_per_minute"), ("--tpm", "tokens_per_minute"),
                        ("--monthly-tokens", "monthly_token_budget")):  # fmt: skip
        tenant.add_argument(flag, dest=field, type=int, default=None, help="unlimited when not given")
    tenant.add_argument("--retire", action="store_true", help="revoke its keys and deactivate it (usage kept)")
    args = parser.parse_args(argv)
    settings = load_settings_or_exit()
    if args.command == "tenant":
        return _tenant(args, settings)
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


def _tenant(args: argparse.Namespace, settings: RuntimeSettings) -> int:
    limits = {f: getattr(args, f) for f in ("requests_per_minute", "tokens_per_minute", "monthly_token_budget")}
    try:
        result = asyncio.run(apply_record(
            settings.database_url, settings.redis_url, name=args.name,
            api_key=os.environ.get("HELIXFLOW_TENANT_API_KEY") or None, limits=limits, retire=args.retire))  # fmt: skip
    except BootstrapError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
