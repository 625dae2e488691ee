"""Sign-in attempts per username and per client address, limited in fixed one-minute windows in Redis (shared
by every auth replica).

An attempt is counted before its password is checked, in one round trip for both counters, so concurrent
attempts cannot slip past the limit together; a successful one is given back, so only failures (and attempts in
flight) use up the window. Over either limit the token endpoint answers 429 with ``Retry-After`` without hashing
anything. If Redis cannot be reached the attempt is let through (logged): the bounded hashing pool still keeps
the service responsive.

The client address is the peer's, or, when the peer is a trusted proxy (``HELIXFLOW_AUTH_TRUSTED_PROXIES``, by
default loopback: the local stack's nginx), the last address in ``X-Forwarded-For`` that is not one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

WINDOW_S = 60
log = logging.getLogger("helixflow.auth")


class TooManyAttempts(Exception):
    """Over a limit; ``retry_after`` seconds until the window ends."""

    def __init__(self, which: str, retry_after: int) -> None:
        super().__init__(f"too many sign-in attempts for this {which}")
        self.which, self.retry_after = which, retry_after


@dataclass(frozen=True, slots=True)
class Attempt:
    keys: tuple[str, ...]  # the counters it was counted in (empty: not counted, Redis was down)


def client_address(peer: str | None, forwarded_for: str | None, trusted: frozenset[str]) -> str:
    if peer is None:
        return "unknown"
    if peer not in trusted or not forwarded_for:
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if hop and hop not in trusted:
            return hop[:64]
    return peer


class AttemptLimiter:
    """``begin`` raises TooManyAttempts; call ``succeeded`` after a successful sign-in."""

    def __init__(self, redis: Redis, per_username: int, per_address: int) -> None:
        self.redis, self.per_username, self.per_address = redis, per_username, per_address

    async def begin(self, address: str, username: str | None = None) -> Attempt:
        now = time.time()
        window = int(now // WINDOW_S)
        counters: list[tuple[str, int, str]] = []
        if self.per_address > 0:
            counters.append((f"hf:auth:attempts:a:{address}:{window}", self.per_address, "client address"))
        if username is not None and self.per_username > 0:
            # Hashed: the name of a key stays short and says nothing, whatever the client sent.
            digest = hashlib.sha256(username.casefold().encode()).hexdigest()[:24]
            counters.append((f"hf:auth:attempts:u:{digest}:{window}", self.per_username, "username"))
        if not counters:
            return Attempt(())
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, _, _ in counters:
                    pipe.incr(key)
                    pipe.expire(key, 2 * WINDOW_S, nx=True)
                replies = await pipe.execute()
        except (RedisError, OSError) as err:
            log.warning("sign-in attempts not limited, Redis unavailable: %s", type(err).__name__)
            return Attempt(())
        attempt = Attempt(tuple(key for key, _, _ in counters))
        for (_, limit, which), count in zip(counters, replies[::2], strict=True):
            if int(count) > limit:
                raise TooManyAttempts(which, max(1, WINDOW_S - int(now % WINDOW_S)))
        return attempt

    async def succeeded(self, attempt: Attempt) -> None:
        """Gives a successful attempt back to its counters (a failure to do so is only logged)."""
        if not attempt.keys:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in attempt.keys:
                    pipe.decr(key)
                await pipe.execute()
        except (RedisError, OSError) as err:
            log.warning("a successful sign-in was not given back: %s", type(err).__name__)
