"""Signing keys in PostgreSQL: the newest unretired key signs; every key not yet retired is in the JWKS.

Rotation adds a key that signs from then on, and schedules the previous ones to
leave the JWKS once every token they signed has expired, so nothing breaks.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import orjson

from helixflow.runtime.security.tokens import (
    ALGORITHM,
    SigningKey,
    decrypt_private_key,
    encrypt_private_key,
    new_signing_key,
)

CACHE_SECONDS = 5.0
_LOCK_ID = 7_400_117  # pg advisory lock: one process creates the first key


class KeyStore:
    """Raises asyncpg errors when the database is unreachable."""

    def __init__(self, db: asyncpg.Pool, secret: str, token_ttl: int) -> None:
        self.db, self.secret, self.token_ttl = db, secret, token_ttl
        self._signing: tuple[float, SigningKey] | None = None
        self._jwks: tuple[float, list[dict[str, Any]]] | None = None

    def invalidate(self) -> None:
        self._signing = self._jwks = None

    async def _insert(self, connection: asyncpg.Connection, key: SigningKey) -> None:
        await connection.execute(
            "INSERT INTO signing_keys (kid, algorithm, private_key_encrypted, public_jwk) VALUES ($1, $2, $3, $4)",
            key.kid, ALGORITHM, encrypt_private_key(key, self.secret), orjson.dumps(key.public_jwk).decode(),
        )

    async def ensure_key(self) -> None:
        async with self.db.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
            count = await connection.fetchval("SELECT count(*) FROM signing_keys WHERE retired_at IS NULL")
            if not count:
                await self._insert(connection, new_signing_key())
        self.invalidate()

    async def signing_key(self) -> SigningKey:
        now = time.monotonic()
        if self._signing is not None and self._signing[0] > now:
            return self._signing[1]
        row = await self.db.fetchrow(
            "SELECT kid, private_key_encrypted FROM signing_keys WHERE retired_at IS NULL "
            "ORDER BY created_at DESC, kid LIMIT 1"
        )
        if row is None:
            await self.ensure_key()
            return await self.signing_key()
        key = decrypt_private_key(row["kid"], row["private_key_encrypted"], self.secret)
        self._signing = (now + CACHE_SECONDS, key)
        return key

    async def jwks(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        if self._jwks is not None and self._jwks[0] > now:
            return self._jwks[1]
        rows = await self.db.fetch(
            "SELECT public_jwk FROM signing_keys WHERE retired_at IS NULL OR retired_at > now() "
            "ORDER BY created_at DESC"
        )
        keys = [orjson.loads(r["public_jwk"]) if isinstance(r["public_jwk"], str) else dict(r["public_jwk"])
                for r in rows]
        self._jwks = (now + CACHE_SECONDS, keys)
        return keys

    async def jwk(self, kid: str) -> dict[str, Any] | None:
        for jwk in await self.jwks():
            if jwk.get("kid") == kid:
                return jwk
        return None

    async def rotate(self) -> str:
        """Adds a signing key and returns its kid; older keys stay published for one token lifetime."""
        key = new_signing_key()
        async with self.db.acquire() as connection, connection.transaction():
            await connection.execute(
                "UPDATE signing_keys SET retired_at = now() + make_interval(secs => $1) WHERE retired_at IS NULL",
                float(self.token_ttl + 60),
            )
            await self._insert(connection, key)
        self.invalidate()
        return key.kid
