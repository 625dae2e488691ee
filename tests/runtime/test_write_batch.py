"""Batched writes: held until the loop's pass ends, in order per transport, closes after their writes, large
writes at once (the servers' tests cover them over real sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from helixflow.runtime.common import write_batch
from helixflow.runtime.common.write_batch import FLUSH_BYTES

pytestmark = pytest.mark.unit


class RecordingTransport:
    """Stands in for a socket transport: records what reaches it."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        assert not self.closing
        self.events.append(data)

    def close(self) -> None:
        self.closing = True
        self.events.append("closed")

    def is_closing(self) -> bool:
        return self.closing


def _run(scenario: Any) -> None:
    async def main() -> None:
        await scenario(write_batch.for_loop(asyncio.get_running_loop()))

    asyncio.run(main())


def test_writes_wait_for_the_end_of_the_pass_and_keep_their_order() -> None:
    async def scenario(batch: write_batch.WriteBatch) -> None:
        a, b = RecordingTransport(), RecordingTransport()
        batch.write(a, b"a1")  # type: ignore[arg-type]
        batch.write(b, b"b1")  # type: ignore[arg-type]
        batch.write(a, b"a2")  # type: ignore[arg-type]
        assert a.events == [] and b.events == []
        await asyncio.sleep(0)
        assert a.events == [b"a1", b"a2"] and b.events == [b"b1"]

    _run(scenario)


def test_a_close_waits_for_the_writes_queued_before_it() -> None:
    async def scenario(batch: write_batch.WriteBatch) -> None:
        idle, busy, gone = RecordingTransport(), RecordingTransport(), RecordingTransport()
        batch.close(idle)  # type: ignore[arg-type]
        assert idle.events == ["closed"]  # nothing queued: at once
        batch.write(busy, b"answer")  # type: ignore[arg-type]
        batch.write(gone, b"lost")  # type: ignore[arg-type]
        batch.close(busy)  # type: ignore[arg-type]
        gone.closing = True  # dropped before the pass ended: its queued write is dropped with it
        assert busy.events == []
        await asyncio.sleep(0)
        assert busy.events == [b"answer", "closed"] and gone.events == []

    _run(scenario)


def test_once_enough_is_queued_everything_goes_out_at_once() -> None:
    async def scenario(batch: write_batch.WriteBatch) -> None:
        a, b = RecordingTransport(), RecordingTransport()
        batch.write(a, b"small")  # type: ignore[arg-type]
        batch.write(b, b"x" * FLUSH_BYTES)  # type: ignore[arg-type]
        assert a.events == [b"small"] and len(b.events) == 1
        batch.write(a, b"later")  # type: ignore[arg-type]
        await asyncio.sleep(0)
        assert a.events == [b"small", b"later"]

    _run(scenario)


def test_each_loop_has_its_own_batch() -> None:
    seen: list[write_batch.WriteBatch] = []

    async def scenario(batch: write_batch.WriteBatch) -> None:
        seen.append(batch)
        assert write_batch.for_loop(asyncio.get_running_loop()) is batch

    _run(scenario)
    _run(scenario)
    assert seen[0] is not seen[1]
