"""A tiny Pulumi mocks harness for the GCP program: outputs from stacks/plan/outputs_gcp.OUTPUTS, every
resource recorded with its type, name, inputs, parent and protect flag (a MockMonitor sees those)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor

from helixflow.stacks.plan.outputs_gcp import OUTPUTS

SECRET_SIG = "4dabf18193072939515e22adb298388d"


def plain(value: Any) -> Any:
    """Mock inputs as plain data: secrets unwrapped, whole floats back to ints."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG):
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str | None = None
    protect: bool = False


def parent_name(urn: str) -> str | None:
    """The logical name of the parent in `urn:pulumi:STACK::PROJECT::A$B$TYPE::NAME`; None for the stack."""
    if not urn:
        return None
    parts = urn.split("::")
    return None if parts[2].split("$")[-1] == "pulumi:pulumi:Stack" else parts[-1]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[tuple[str, str], Recorded] = {}  # (type, name) -> record

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        added = dict(OUTPUTS[args.typ](args.name, inputs)) if args.typ in OUTPUTS else {}
        resource_id = str(added.pop("id", f"{args.name}-id"))
        self.resources.setdefault((args.typ, args.name), Recorded(args.typ, args.name, {})).inputs = plain(inputs)
        return resource_id, {**inputs, **added}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(MockMonitor):  # type: ignore[misc]
    """Sees what mocks do not: each registration's parent and protect flag."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            key = (request.type, request.name)
            record = self.recording.resources.setdefault(key, Recorded(request.type, request.name, {}))
            record.parent = parent_name(str(request.parent or ""))
            record.protect = bool(request.protect)
        return super().RegisterResource(request)


def run_program(program: Any) -> RecordingMocks:
    asyncio.set_event_loop(asyncio.new_event_loop())
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="helixflow", stack="unit", preview=False, monitor=RecordingMonitor(mocks))
    pulumi.runtime.test(program)()
    return mocks
