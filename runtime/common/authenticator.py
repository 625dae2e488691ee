"""Turns a bearer credential (API key or JWT) into a Principal, with per-process caches.

API-key records (by digest) and the users and keys JWTs were issued for are cached by ``credential_cache``:
fresh for ``auth_cache_seconds``, then served while refreshed, and while PostgreSQL is unreachable for up to
``auth_cache_stale_seconds`` since it last confirmed them (a process that starts during an outage finds them in
Redis). The EpochWatcher clears them on any revoking change, so a deactivated user, a disabled tenant or a
revoked key stops every credential within the same second. A token issued for an API key (client-credentials
grant) carries that key's role and limits, shared with the key. A verified token's claims are kept until it
expires (at most TOKEN_TTL): verifying an EdDSA JWT costs more than the rest of the request's CPU.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, TypeVar

from helixflow.runtime.common.credential_cache import (
    Backoff,
    CachedLookup,
    CachePolicy,
    DirectoryUnavailable,
    SharedRecords,
)
from helixflow.runtime.common.directory import Directory, KeyRecord, UserRecord
from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.common.principal import Principal, TenantLimits
from helixflow.runtime.common.record_codecs import KeyRecordCodec, UserRecordCodec
from helixflow.runtime.security.api_keys import digest_api_key, looks_like_api_key
from helixflow.runtime.security.tokens import TokenError, public_key_from_jwk, unverified_kid, verify_token
from helixflow.runtime.settings import RuntimeSettings

R = TypeVar("R")
TOKEN_TTL = 60.0
MAX_ENTRIES = 100_000


class JwksUnavailable(Exception):
    """The signing key is not cached and the auth service cannot be asked."""


class JwksSource(Protocol):
    async def jwk(self, kid: str) -> dict[str, Any] | None: ...


def _unavailable() -> ApiError:
    return ApiError(503, "authentication backend unavailable", code="auth_unavailable", headers={"Retry-After": "1"})


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


class Authenticator:
    """Raises ApiError(401) for a bad credential and ApiError(503) when the directory is unreachable."""

    def __init__(self, directory: Directory, jwks: JwksSource, settings: RuntimeSettings,
                 shared: SharedRecords | None = None) -> None:
        self.directory, self.jwks, self.settings = directory, jwks, settings
        policy = CachePolicy(settings.auth_cache_seconds, settings.auth_cache_stale_seconds)
        backoff = Backoff()  # one directory behind all three: one outage, one backoff
        self._keys: CachedLookup[KeyRecord] = CachedLookup(
            "key", lambda digest: self.directory.key_by_digest(digest), policy, backoff, KeyRecordCodec(), shared)
        self._key_ids: CachedLookup[KeyRecord] = CachedLookup(
            "key-id", lambda key_id: self.directory.key_by_id(key_id), policy, backoff, KeyRecordCodec(), shared)
        self._users: CachedLookup[UserRecord] = CachedLookup(
            "user", lambda user_id: self.directory.user(user_id), policy, backoff, UserRecordCodec(), shared)
        self._tokens: dict[str, tuple[float, dict[str, Any]]] = {}  # token -> (valid until, epoch s; claims)

    def clear(self) -> None:
        self._keys.clear()
        self._key_ids.clear()
        self._users.clear()
        self._tokens.clear()

    async def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise _unauthorized("missing credentials: send 'Authorization: Bearer <API key or token>'")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("malformed Authorization header: expected 'Bearer <API key or token>'")
        if looks_like_api_key(token):
            return await self._api_key(token)
        if token.count(".") == 2:
            return await self._jwt(token)
        raise _unauthorized("invalid API key or token")

    async def _api_key(self, token: str) -> Principal:
        record = await self._cached(self._keys, digest_api_key(token))
        if record is None or not record.is_valid_now():
            raise _unauthorized("invalid, expired or revoked API key")
        return record.principal

    @staticmethod
    async def _cached(cache: CachedLookup[R], key: str) -> R | None:
        try:
            return await cache.get(key)
        except DirectoryUnavailable as err:
            raise _unavailable() from err

    async def _jwt(self, token: str) -> Principal:
        now = time.time()
        cached = self._tokens.get(token)
        if cached is not None and cached[0] > now:
            claims = cached[1]
        else:
            claims = await self._verify(token)
            if len(self._tokens) >= MAX_ENTRIES:
                self._tokens.clear()
            self._tokens[token] = (min(float(claims["exp"]), now + TOKEN_TTL), claims)
        tenant_id, role, sub = claims.get("tenant"), claims.get("role"), claims.get("sub")
        if not all(isinstance(v, str) for v in (tenant_id, role, sub)):
            raise _unauthorized("invalid token claims")
        assert isinstance(tenant_id, str) and isinstance(role, str) and isinstance(sub, str)
        key_id = claims.get("key")
        if isinstance(key_id, str):
            # Issued for an API key: it lives and dies with the key, and has the key's role and limits.
            record = await self._cached(self._key_ids, key_id)
            if record is None or not record.is_valid_now() or record.principal.tenant_id != tenant_id \
                    or record.principal.user_id != sub:
                raise _unauthorized("the API key this token was issued for is revoked or expired")
            return record.principal
        user = await self._cached(self._users, sub)
        if user is None or not user.active or user.tenant_id != tenant_id:
            raise _unauthorized("the user is unknown or deactivated, or its tenant is disabled")
        # The user's role as it is now: a demotion applies to the tokens already issued.
        return Principal(user_id=sub, tenant_id=tenant_id, role=user.role, api_key_id=None,
                         tenant_limits=user.tenant_limits, key_limits=TenantLimits(),
                         store_content=user.store_content)

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            kid = unverified_kid(token)
            jwk = await self.jwks.jwk(kid)
            if jwk is None:
                raise TokenError("unknown signing key")
            return verify_token(token, public_key_from_jwk(jwk), issuer=self.settings.jwt_issuer,
                                audience=self.settings.jwt_audience)
        except TokenError as err:
            raise _unauthorized(str(err)) from err
        except JwksUnavailable as err:
            raise _unavailable() from err
