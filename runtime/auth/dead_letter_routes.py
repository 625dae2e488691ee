"""The admin API over usage dead letters: how many, why, and replaying them (``helixflow usage replay``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter

from helixflow.runtime.auth.state import Caller, State
from helixflow.runtime.gateway import dead_letters
from helixflow.runtime.security.roles import Permission

router = APIRouter(prefix="/admin/usage/dead-letters", tags=["admin"])


@router.get("", summary="Usage records PostgreSQL refused, with why (admin)")
async def list_dead_letters(caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.manage_tenants)
    return {"count": await dead_letters.count(state.redis), "oldest": await dead_letters.sample(state.redis)}


@router.post("/replay", summary="Insert the dead letters again, idempotently (admin)")
async def replay_dead_letters(caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.manage_tenants)
    return dataclasses.asdict(await dead_letters.replay(state.redis, state.db))
