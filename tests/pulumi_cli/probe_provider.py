"""A minimal Python dynamic provider for the engine smoke test: a file with given content.

It lives in its own importable module because the provider is pickled by
reference: the provider process imports this module by name (see PYTHONPATH in
the test).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from pulumi import Input, ResourceOptions
from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider


class FileProvider(ResourceProvider):  # type: ignore[misc]
    def create(self, props: dict[str, Any]) -> CreateResult:
        path = Path(props["directory"]) / f"probe-{uuid.uuid4().hex[:8]}.txt"
        path.write_text(props["content"])
        return CreateResult(id_=str(path), outs={**props, "path": str(path), "pid": os.getpid()})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(id_)
        if not path.exists():
            return ReadResult(id_="", outs={})  # gone
        return ReadResult(id_=id_, outs={**props, "content": path.read_text()})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        Path(id_).unlink(missing_ok=True)


class ProbeFile(Resource):  # type: ignore[misc]
    def __init__(self, name: str, directory: Input[str], content: Input[str], opts: ResourceOptions | None = None):
        super().__init__(FileProvider(), name, {"directory": directory, "content": content, "path": None}, opts)
