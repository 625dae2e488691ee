"""The model list as the OpenAI SDK's schema wants it, and metric labels that a client cannot choose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from helixflow.runtime.gateway.catalog import ModelCatalog
from helixflow.runtime.gateway.metrics import batch_label, method_label

pytestmark = pytest.mark.unit


class _Answer:
    status = 200

    def __init__(self, body: bytes) -> None:
        self.body = body

    def header(self, name: bytes) -> bytes | None:
        return None

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.body

    async def read(self) -> bytes:
        return self.body

    def release(self) -> None:
        pass


class _Pool:
    """A pool whose model cards are as sglang-router's can be: no ``created``, no ``owned_by``."""

    def __init__(self, cards: list[object]) -> None:
        self.body = orjson.dumps({"object": "list", "data": cards})

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: list[tuple[str, str]] | None = None) -> _Answer:
        return _Answer(self.body)

    async def aclose(self) -> None:
        pass


def test_every_listed_model_carries_created_and_owned_by() -> None:
    async def listed() -> list[dict[str, object]]:
        catalog = ModelCatalog(_Pool([{"id": "bare"}, {"id": "full", "created": 1700000000, "owned_by": "sglang"},
                                      "not a card"]))
        await catalog.refresh()
        assert catalog.raw is not None
        cards: list[dict[str, object]] = orjson.loads(catalog.raw)["data"]
        return cards

    bare, full = asyncio.run(listed())
    assert bare["id"] == "bare" and isinstance(bare["created"], int) and bare["owned_by"] == "helixflow"
    assert bare["object"] == "model"
    assert (full["created"], full["owned_by"]) == (1700000000, "sglang")


def test_metric_labels_come_from_fixed_sets_not_from_the_request() -> None:
    assert [batch_label(n) for n in (0, 1, 3, 4, 5, 16, 17, 10_000)] == ["1", "1", "2-4", "2-4", "5-16", "5-16",
                                                                         "17+", "17+"]
    assert [method_label(m) for m in ("GET", "POST", "PROPFIND")] == ["GET", "POST", "other"]

    async def labels() -> tuple[str, str]:
        catalog = ModelCatalog(_Pool([{"id": "tiny"}]))
        await catalog.refresh()
        return catalog.label("tiny"), catalog.label("a model name a client made up")

    assert asyncio.run(labels()) == ("tiny", "other")
