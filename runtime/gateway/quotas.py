"""Per-tenant (and optionally per-key) requests/minute, tokens/minute and monthly token budget, in Redis.

One Lua script checks every limit and counts the request atomically; tokens are
added when the response's usage is known, by plain INCRBY and ``EXPIRE ... NX`` (Redis 7.0
or newer): a script call costs Redis ~15 us beyond its commands, these cost ~1 us each.
Windows are fixed calendar minutes and UTC months. All of a tenant's keys share a hash
tag so the script works on Redis Cluster.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import time
from typing import Any, NamedTuple

from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.common.principal import Principal, TenantLimits
from helixflow.runtime.gateway.batcher import RedisBatcher
from helixflow.runtime.gateway.resp import pack

# KEYS: tenant requests/minute, tenant tokens/minute, tenant tokens/month, key requests/minute, key
# tokens/minute. ARGV: their limits (0: none) in the same order, then the minute keys' TTL. One MGET reads
# them all: a redis.call costs Redis ~2 us, and these scripts were Redis's largest cost per request.
CHECK_SCRIPT = """
local used = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local requests, tokens = tonumber(used[1] or '0'), tonumber(used[2] or '0')
local function over(i)
  local limit = tonumber(ARGV[i])
  return limit > 0 and tonumber(used[i] or '0') >= limit
end
if over(3) then return {0, 3, requests, tokens} end
if over(2) then return {0, 2, requests, tokens} end
if over(5) then return {0, 5, requests, tokens} end
if over(1) then return {0, 1, requests, tokens} end
if over(4) then return {0, 4, requests, tokens} end
requests = redis.call('INCR', KEYS[1])
if requests == 1 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
if tonumber(ARGV[4]) > 0 then
  if redis.call('INCR', KEYS[4]) == 1 then redis.call('EXPIRE', KEYS[4], ARGV[6]) end
end
return {1, 0, requests, tokens}
"""

log = logging.getLogger("helixflow.gateway")
CHECK_SHA = hashlib.sha1(CHECK_SCRIPT.encode()).hexdigest()
WINDOW_TTL = 120
REASONS = {1: "requests_per_minute", 2: "tokens_per_minute", 3: "monthly_token_budget",
           4: "key_requests_per_minute", 5: "key_tokens_per_minute"}


@functools.lru_cache(maxsize=4)
def _next_month_start(minute: int) -> float:
    # Depends only on the minute, so it is worked out once a minute, not per request.
    current = dt.datetime.fromtimestamp(minute * 60, dt.UTC)
    first = current.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + dt.timedelta(days=32)).replace(day=1).timestamp()


def _seconds_to_next_month(now: float) -> int:
    return max(1, int(_next_month_start(int(now // 60)) - now) + 1)


@functools.lru_cache(maxsize=4096)
def _key_names(tenant_id: str, holder: str, minute: int) -> tuple[str, str, str, str, str]:
    # The names change once a minute (months start on a minute), so they are built once a minute per key.
    month = time.strftime("%Y%m", time.gmtime(minute * 60))
    base = f"hf:q:{{{tenant_id}}}"
    key = f"{base}:k:{holder}"
    return f"{base}:r:{minute}", f"{base}:t:{minute}", f"{base}:m:{month}", f"{key}:r:{minute}", f"{key}:t:{minute}"


@functools.lru_cache(maxsize=4096)
def _check_command(names: tuple[str, ...], tenant: TenantLimits, key: TenantLimits) -> bytes:
    # The whole EVALSHA of a key's check is the same for every request in a minute: packed once.
    return pack(("EVALSHA", CHECK_SHA, len(names), *names, *_check_args(tenant, key)))


def _check_args(t: TenantLimits, k: TenantLimits) -> list[int]:
    return [t.requests_per_minute, t.tokens_per_minute, t.monthly_token_budget, k.requests_per_minute,
            k.tokens_per_minute, WINDOW_TTL]


class _Prepared(NamedTuple):
    names: tuple[str, ...]  # the five counters (see CHECK_SCRIPT)
    check: bytes  # the whole EVALSHA of the check, packed
    token_counters: tuple[tuple[str, str], ...]  # what a response's tokens are added to, with their TTLs
    token_commands: tuple[tuple[bytes, bytes], ...]  # per counter: INCRBY packed but for the amount, EXPIRE NX


def _incrby_head(name: str) -> bytes:
    """``INCRBY name`` in RESP, announcing the amount that follows it."""
    return pack(("INCRBY", name)).replace(b"*2\r\n", b"*3\r\n", 1)


def has_limits(principal: Principal) -> bool:
    t, k = principal.tenant_limits, principal.key_limits
    return bool(t.requests_per_minute or t.tokens_per_minute or t.monthly_token_budget or k.requests_per_minute
                or k.tokens_per_minute)


class Quotas:
    def __init__(self, batcher: RedisBatcher) -> None:
        self.batcher = batcher
        # Per principal (a key's cached Principal is one object) and minute: its key names, its packed check
        # and its token counters with their TTLs.
        self._prepared: dict[int, tuple[int, Principal, _Prepared]] = {}

    def _prepare(self, principal: Principal, minute: int) -> _Prepared:
        entry = self._prepared.get(id(principal))
        if entry is not None and entry[1] is principal and entry[0] == minute:
            return entry[2]
        names = _key_names(principal.tenant_id, principal.api_key_id or principal.user_id, minute)
        month_ttl = str(_seconds_to_next_month(minute * 60) + 86400)
        counters = [(names[1], str(WINDOW_TTL)), (names[2], month_ttl)]
        if principal.key_limits.tokens_per_minute:
            counters.append((names[4], str(WINDOW_TTL)))
        prepared = _Prepared(names, _check_command(names, principal.tenant_limits, principal.key_limits),
                             tuple(counters),
                             tuple((_incrby_head(name), pack(("EXPIRE", name, ttl, "NX"))) for name, ttl in counters))
        if len(self._prepared) >= 4096:
            self._prepared.clear()
        self._prepared[id(principal)] = (minute, principal, prepared)  # holding it keeps its id unique
        return prepared

    async def check(self, principal: Principal) -> list[tuple[bytes, bytes]]:
        """Counts the request; returns x-ratelimit-* headers. Raises ApiError(429) with Retry-After when over."""
        now = time.time()
        prepared = self._prepare(principal, int(now // 60))
        result = await self.batcher.script(CHECK_SHA, CHECK_SCRIPT, list(prepared.names),
                                           _check_args(principal.tenant_limits, principal.key_limits),
                                           packed=prepared.check)
        allowed, reason, requests, tokens = (int(v) for v in result)
        minute_reset = 60 - int(now % 60)
        headers = self._headers(principal, minute_reset, requests, tokens)
        if not allowed:
            which = REASONS.get(reason, "quota")
            retry = _seconds_to_next_month(now) if which == "monthly_token_budget" else minute_reset
            raise ApiError(429, f"rate limit exceeded: {which}", code="rate_limit_exceeded",
                           headers={"Retry-After": str(retry), **{k.decode(): v.decode() for k, v in headers}})
        return headers

    @staticmethod
    def _headers(principal: Principal, minute_reset: int, requests: int, tokens: int) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        rpm, tpm = principal.tenant_limits.requests_per_minute, principal.tenant_limits.tokens_per_minute
        reset = b"%ds" % minute_reset
        if rpm:
            headers += [(b"x-ratelimit-limit-requests", b"%d" % rpm),
                        (b"x-ratelimit-remaining-requests", b"%d" % max(0, rpm - requests)),
                        (b"x-ratelimit-reset-requests", reset)]
        if tpm:
            headers += [(b"x-ratelimit-limit-tokens", b"%d" % tpm),
                        (b"x-ratelimit-remaining-tokens", b"%d" % max(0, tpm - tokens)),
                        (b"x-ratelimit-reset-tokens", reset)]
        return headers

    def consume(self, principal: Principal, tokens: int, now: float) -> asyncio.Future[Any]:
        """Adds a response's tokens to the counters (queued with the usage record); a new counter gets its TTL."""
        prepared = self._prepare(principal, int(now // 60))
        resp = self.batcher.resp
        if resp is not None:
            digits = b"%d" % tokens
            amount = b"$%d\r\n%b\r\n" % (len(digits), digits)
            return resp.submit_packed(b"".join(head + amount + expire for head, expire in prepared.token_commands),
                                      2 * len(prepared.token_commands))
        return self.batcher.submit_all([command for name, ttl in prepared.token_counters
                                        for command in (("INCRBY", name, tokens), ("EXPIRE", name, ttl, "NX"))])

    async def load_scripts(self) -> None:
        """Loads the check script; says so in the log when Redis is too old for the token counters' TTLs."""
        await self.batcher.redis.script_load(CHECK_SCRIPT)
        version = str((await self.batcher.redis.info("server")).get("redis_version", ""))
        if _too_old(version):
            log.error("Redis %s is older than 7.0: token counters get no TTL (EXPIRE ... NX) and are never "
                      "removed; upgrade Redis to 7.0 or newer", version)


def _too_old(version: str) -> bool:
    major = version.split(".", 1)[0]
    return major.isdigit() and int(major) < 7
