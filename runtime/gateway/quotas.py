"""Per-tenant (and optionally per-key) requests/minute, tokens/minute and monthly token budget, in Redis.

One Lua script checks every limit, counts the request and reserves the tokens the request may use (its prompt,
estimated, and ``n x max_tokens``) atomically: a request is refused when its reservation does not fit, so N
concurrent requests cannot overshoot a budget together. When the request ends its reservation is settled to what
it really used, by plain INCRBY (of the difference) and ``EXPIRE ... NX`` (Redis 7.0 or newer), queued with the
usage record: a script call costs Redis ~15 us beyond its commands, these cost ~1 us each. A reservation a
crashed gateway never settled stays counted (the budget errs on the safe side) until its window ends.
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

# KEYS: tenant requests/minute, tenant tokens/minute, tenant tokens/month, key requests/minute, key
# tokens/minute. ARGV: their limits (0: none) in the same order, the minute keys' TTL, the month key's TTL, then
# the tokens to reserve. One MGET reads them all: a redis.call costs Redis ~2 us, and these scripts were Redis's
# largest cost per request.
CHECK_SCRIPT = """
local used = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local requests, tokens = tonumber(used[1] or '0'), tonumber(used[2] or '0')
local reserve = tonumber(ARGV[8])
local function over(i, wanted)
  local limit = tonumber(ARGV[i])
  return limit > 0 and tonumber(used[i] or '0') + wanted > limit
end
if over(3, reserve) then return {0, 3, requests, tokens} end
if over(2, reserve) then return {0, 2, requests, tokens} end
if over(5, reserve) then return {0, 5, requests, tokens} end
if over(1, 1) then return {0, 1, requests, tokens} end
if over(4, 1) then return {0, 4, requests, tokens} end
requests = redis.call('INCR', KEYS[1])
if requests == 1 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
if tonumber(ARGV[4]) > 0 then
  if redis.call('INCR', KEYS[4]) == 1 then redis.call('EXPIRE', KEYS[4], ARGV[6]) end
end
if reserve > 0 then
  if redis.call('INCRBY', KEYS[2], reserve) == reserve then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
  if redis.call('INCRBY', KEYS[3], reserve) == reserve then redis.call('EXPIRE', KEYS[3], ARGV[7]) end
  if tonumber(ARGV[5]) > 0 then
    if redis.call('INCRBY', KEYS[5], reserve) == reserve then redis.call('EXPIRE', KEYS[5], ARGV[6]) end
  end
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


def _check_args(t: TenantLimits, k: TenantLimits) -> list[int]:
    return [t.requests_per_minute, t.tokens_per_minute, t.monthly_token_budget, k.requests_per_minute,
            k.tokens_per_minute, WINDOW_TTL]


class _Prepared(NamedTuple):
    names: tuple[str, ...]  # the five counters (see CHECK_SCRIPT)
    month_ttl: str
    token_counters: tuple[tuple[str, str], ...]  # what a response's tokens are added to, with their TTLs


class Reservation(NamedTuple):
    """The tokens a request holds against its counters (those of the minute it was checked in)."""

    prepared: _Prepared
    tokens: int


def has_limits(principal: Principal) -> bool:
    t, k = principal.tenant_limits, principal.key_limits
    return bool(t.requests_per_minute or t.tokens_per_minute or t.monthly_token_budget or k.requests_per_minute
                or k.tokens_per_minute)


def has_token_limits(principal: Principal) -> bool:
    """Whether a reservation can matter: without a token limit the request is counted and its tokens added after."""
    t, k = principal.tenant_limits, principal.key_limits
    return bool(t.tokens_per_minute or t.monthly_token_budget or k.tokens_per_minute)


class Quotas:
    def __init__(self, batcher: RedisBatcher) -> None:
        self.batcher = batcher
        # Per principal (a key's cached Principal is one object) and minute: its key names and its token
        # counters with their TTLs.
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
        prepared = _Prepared(names, month_ttl, tuple(counters))
        if len(self._prepared) >= 4096:
            self._prepared.clear()
        self._prepared[id(principal)] = (minute, principal, prepared)  # holding it keeps its id unique
        return prepared

    async def check(self, principal: Principal) -> list[tuple[bytes, bytes]]:
        """Counts the request (reserving no tokens); returns x-ratelimit-* headers. Raises ApiError(429)."""
        return (await self.reserve(principal, 0))[0]

    async def reserve(self, principal: Principal, tokens: int) -> tuple[list[tuple[bytes, bytes]], Reservation]:
        """Counts the request and reserves ``tokens``; returns x-ratelimit-* headers and the reservation to settle.

        Raises ApiError(429) with Retry-After when a limit is reached or the reservation does not fit.
        """
        now = time.time()
        prepared = self._prepare(principal, int(now // 60))
        tokens = max(0, tokens)
        result = await self.batcher.script(CHECK_SHA, CHECK_SCRIPT, list(prepared.names),
                                           [*_check_args(principal.tenant_limits, principal.key_limits),
                                            prepared.month_ttl, tokens])
        allowed, reason, requests, used = (int(v) for v in result)
        minute_reset = 60 - int(now % 60)
        headers = self._headers(principal, minute_reset, requests, used)
        if not allowed:
            which = REASONS.get(reason, "quota")
            retry = _seconds_to_next_month(now) if which == "monthly_token_budget" else minute_reset
            raise ApiError(429, f"rate limit exceeded: {which}", code="rate_limit_exceeded",
                           headers={"Retry-After": str(retry), **{k.decode(): v.decode() for k, v in headers}})
        return headers, Reservation(prepared, tokens)

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
        return self._add(self._prepare(principal, int(now // 60)), tokens)

    def settle(self, reservation: Reservation, used: int) -> asyncio.Future[Any] | None:
        """Turns a reservation into what the request used (queued with the usage record); None when equal."""
        if used == reservation.tokens:
            return None
        return self._add(reservation.prepared, used - reservation.tokens)

    def _add(self, prepared: _Prepared, tokens: int) -> asyncio.Future[Any]:
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
