"""The gateway's authenticator keeps a verified JWT's claims until the token expires, and no longer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from helixflow.runtime.common import authenticator as authenticator_module
from helixflow.runtime.common.authenticator import Authenticator
from helixflow.runtime.common.directory import UserRecord
from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.common.principal import TenantLimits
from helixflow.runtime.security.tokens import issue_token, new_signing_key
from helixflow.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.unit

KEY = new_signing_key()


class CountingJwks:
    def __init__(self) -> None:
        self.lookups = 0

    async def jwk(self, kid: str) -> dict[str, Any] | None:
        self.lookups += 1
        return KEY.public_jwk if kid == KEY.kid else None


class OneUser:
    async def user(self, user_id: str) -> UserRecord | None:
        return UserRecord("t1", "user", True, TenantLimits(), False) if user_id == "u1" else None


def _authenticator(jwks: CountingJwks) -> Authenticator:
    settings = RuntimeSettings(env="development")
    return Authenticator(OneUser(), jwks, settings)  # type: ignore[arg-type]


def _token(ttl: int) -> str:
    settings = RuntimeSettings(env="development")
    return issue_token(KEY, subject="u1", role="user", tenant="t1", issuer=settings.jwt_issuer,
                       audience=settings.jwt_audience, ttl_seconds=ttl)


def test_a_verified_token_is_not_verified_again_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    jwks = CountingJwks()
    auth = _authenticator(jwks)
    token = _token(ttl=30)
    clock = [authenticator_module.time.time()]
    monkeypatch.setattr(authenticator_module.time, "time", lambda: clock[0])

    async def scenario() -> None:
        first = await auth.authenticate(f"Bearer {token}")
        second = await auth.authenticate(f"Bearer {token}")
        assert (first.user_id, first.tenant_id, first.role) == (second.user_id, second.tenant_id, "user")
        assert jwks.lookups == 1
        clock[0] += 29
        await auth.authenticate(f"Bearer {token}")
        assert jwks.lookups == 1
        # Past exp the cached claims no longer count: the token goes through verification again, where
        # PyJWT's own clock decides (the expired-token attack test covers that refusal).
        clock[0] += 2
        await auth.authenticate(f"Bearer {token}")
        assert jwks.lookups == 2

    asyncio.run(scenario())


def test_a_tampered_token_is_refused_even_after_the_real_one_was_cached() -> None:
    jwks = CountingJwks()
    auth = _authenticator(jwks)
    token = _token(ttl=300)
    header, payload, signature = token.split(".")
    tampered = ".".join((header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]))

    async def scenario() -> None:
        await auth.authenticate(f"Bearer {token}")
        with pytest.raises(ApiError) as refused:
            await auth.authenticate(f"Bearer {tampered}")
        assert refused.value.status == 401
        auth.clear()  # a directory change clears every cache, verified tokens included
        await auth.authenticate(f"Bearer {token}")
        assert jwks.lookups == 3

    asyncio.run(scenario())
