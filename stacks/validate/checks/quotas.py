"""Quotas: a throwaway tenant with a small request limit is refused with 429 and Retry-After past it."""

from __future__ import annotations

from helixflow.stacks.validate.checks.api import NO_CACHE, chat_body
from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import Outcome, failed, passed, skipped
from helixflow.stacks.validate.registry import check

LIMIT = 3  # requests per minute of the throwaway tenant


@check(
    "rate-limit",
    "quotas",
    critical=True,
    description=f"A tenant limited to {LIMIT} requests/minute gets 429 with Retry-After past its limit",
)
def rate_limit(ctx: Context) -> Outcome:
    if ctx.me().get("role") != "admin":
        return skipped("needs an admin key to create a throwaway tenant with a small limit")
    key = ctx.throwaway_tenant("quota", requests_per_minute=LIMIT)["key"]["api_key"]
    codes: list[int] = []
    # windows are calendar minutes: a window may turn over once while we push, hence twice the limit, plus one
    for _ in range(2 * LIMIT + 1):
        response = ctx.call(
            "POST", "/v1/chat/completions", key=key, json=chat_body(ctx, max_tokens=1), headers=NO_CACHE
        )
        codes.append(response.status_code)
        if response.status_code == 429:
            retry_after = response.headers.get("retry-after", "")
            if not retry_after.isdigit() or int(retry_after) < 1:
                return failed(f"429 without a usable Retry-After ({retry_after!r})", value=str(codes))
            if codes.count(200) < 1:
                return failed(f"refused before any request was served: {codes}", value=str(codes))
            return passed(f"429 after {codes.count(200)} requests, Retry-After {retry_after}s")
        if response.status_code != 200:
            return failed(f"answered {response.status_code} below the limit: {response.text[:120]}", value=str(codes))
    return failed(f"{len(codes)} requests at a limit of {LIMIT}/minute were all served", value=str(codes))
