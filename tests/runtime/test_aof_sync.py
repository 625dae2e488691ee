"""WAITAOF after a settled usage record: on when asked, off (once, loudly) where Redis cannot do it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import ResponseError

from helixflow.runtime.gateway.aof_sync import AofSync

pytestmark = pytest.mark.unit


class Batcher:
    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.sent: list[tuple[Any, ...]] = []

    def submit(self, *args: Any) -> asyncio.Future[Any]:
        self.sent.append(args)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if isinstance(self.reply, Exception):
            future.set_exception(self.reply)
        else:
            future.set_result(self.reply)
        return future


def test_waitaof_follows_the_record_and_reports_its_fsync() -> None:
    async def scenario() -> None:
        sync = AofSync(50)
        batcher = Batcher([1, 0])
        assert await sync.wait(sync.submit(batcher)) is True
        assert batcher.sent == [("WAITAOF", "1", "0", "50")]
        late = Batcher([0, 0])  # the timeout passed first: answered anyway, counted
        assert await sync.wait(sync.submit(late)) is False and sync.unsynced == 1

    asyncio.run(scenario())


def test_a_redis_without_waitaof_turns_it_off() -> None:
    async def scenario() -> None:
        sync = AofSync(50)
        old = Batcher(ResponseError("ERR unknown command 'WAITAOF'"))
        assert await sync.wait(sync.submit(old)) is False
        assert sync.enabled is False and sync.submit(old) is None and len(old.sent) == 1
        assert AofSync(0).submit(Batcher([1, 0])) is None  # off unless asked

    asyncio.run(scenario())
