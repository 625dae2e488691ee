"""Data: a request made by this run is recorded in the usage records."""

from __future__ import annotations

import time
import uuid

from helixflow.stacks.validate.checks.api import NO_CACHE, chat_body
from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import Outcome, failed, passed, skipped
from helixflow.stacks.validate.registry import check

RECORD_WAIT = 15.0  # records are drained from a Redis stream into PostgreSQL in batches


@check(
    "usage-recorded",
    "data",
    critical=True,
    description="A request made by the run appears in the usage records, looked up by its X-Request-ID (in the "
    "`requests` table on a local stack; else through the admin API)",
)
def usage_recorded(ctx: Context) -> Outcome:
    if not ctx.deployment.database_url and not ctx.deployment.admin_url:
        return skipped("needs the stack's database or the admin API (--admin-url)")
    request_id = f"helixflow-validate-{uuid.uuid4().hex}"
    response = ctx.call(
        "POST",
        "/v1/chat/completions",
        json=chat_body(ctx, max_tokens=1),
        headers={**NO_CACHE, "X-Request-ID": request_id},
    )
    if response.status_code != 200:
        return failed(f"the request to record answered {response.status_code}")
    started = time.monotonic()
    while time.monotonic() - started < min(RECORD_WAIT, ctx.remaining()):
        if ctx.deployment.database_url:
            import psycopg

            with psycopg.connect(ctx.deployment.database_url, connect_timeout=5) as conn:
                row = conn.execute(
                    "SELECT status, tokens_used FROM requests WHERE client_request_id = %s", (request_id,)
                ).fetchone()
            if row is not None:
                return passed(f"recorded after {time.monotonic() - started:.1f}s ({row[0]}, {row[1]} tokens)")
        else:
            found = ctx.admin("GET", f"/admin/usage/requests/{request_id}")
            if found.status_code == 200:
                record = found.json()["records"][0]
                return passed(f"recorded after {time.monotonic() - started:.1f}s ({record['status']}, "
                              f"{record['tokens_used']} tokens)")
            if found.status_code != 404:
                return failed(f"the admin API's usage lookup answered {found.status_code}")
        time.sleep(0.5)
    return failed(f"request {request_id} not in the usage records after {RECORD_WAIT:g}s")
