"""What the auth service's routes share, built in the lifespan and reached through dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from redis.asyncio import Redis

from helixflow.runtime.auth.attempts import AttemptLimiter
from helixflow.runtime.auth.keystore import KeyStore
from helixflow.runtime.common.authenticator import Authenticator
from helixflow.runtime.common.principal import Principal
from helixflow.runtime.security.passwords import PasswordPool
from helixflow.runtime.settings import RuntimeSettings


@dataclass
class AuthState:
    settings: RuntimeSettings
    db: asyncpg.Pool
    redis: Redis
    keystore: KeyStore
    authenticator: Authenticator
    passwords: PasswordPool
    attempts: AttemptLimiter
    trusted_proxies: frozenset[str]


def get_state(request: Request) -> AuthState:
    state: AuthState = request.app.state.auth
    return state


State = Annotated[AuthState, Depends(get_state)]


async def current_principal(request: Request, state: State) -> Principal:
    return await state.authenticator.authenticate(request.headers.get("authorization"))


Caller = Annotated[Principal, Depends(current_principal)]
