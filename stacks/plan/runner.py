"""Runs a stack's program in this process under Pulumi's mocks and records every resource it registers:
no engine, no plugins, no credentials, no network. Throwaway secrets are generated for the run.

The records keep each resource's parent (a custom MockMonitor sees it; plain mocks do not) and its inputs
with secrets masked, numbers as the program wrote them, and `from_` back to `from` already done by the SDK.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helixflow.stacks.config import StackBase
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.plan.hosts import plan_host
from helixflow.stacks.plan.model import PlannedResource

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the SDK marks a secret in serialized properties
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
MASK = "[secret]"
PLAN_HOME = Path("/helixflow-plan")  # the paths a local stack's program would use: fixed, never touched
HEAVY_MODULES = ("pulumi", "pulumi_aws", "pulumi_kubernetes")
_lock = threading.Lock()  # the Pulumi runtime's settings are process-wide: one plan at a time


def plain(value: Any) -> Any:
    """Recorded inputs as data: secrets masked, whole floats (the wire's numbers) back to ints."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE:
            return MASK
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def import_sdks() -> None:
    """Import the SDKs with the garbage collector off, then freeze what they allocated: their import-time
    objects are never garbage, and scanning them is most of a plan's time otherwise."""
    gc.disable()
    try:
        for module in HEAVY_MODULES:
            importlib.import_module(module)
    finally:
        gc.freeze()
        gc.enable()


class _CollectorHeld:
    """The garbage collector off while a plan runs: the SDKs load their submodules lazily (tens of thousands
    of long-lived objects each), and collections scanning them would cost more than the plan itself."""

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        gc.freeze()  # what the SDKs loaded stays: never scan it again (nor at exit)
        if self.was_enabled:
            gc.enable()


def _name_of(urn: str) -> str | None:
    """The logical name in a URN (`urn:pulumi:stack::project::type$type::name`); None for the stack."""
    if not urn or "::pulumi:pulumi:Stack::" in urn:
        return None
    return urn.rsplit("::", 1)[-1]


def _run(config: StackBase, stack: str) -> list[PlannedResource]:
    import pulumi
    from pulumi.runtime import mocks

    from helixflow.stacks.plan.outputs import call_outputs, resource_outputs
    from helixflow.stacks.secrets import StackSecrets
    from helixflow.stacks.targets import target_for

    records: list[PlannedResource] = []
    region: dict[str, str] = {}

    class Answers(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            inputs = dict(args.inputs)
            if args.typ == "pulumi:providers:aws" and inputs.get("region"):
                region["aws"] = str(inputs["region"])
            seen = {"region": region.get("aws"), **inputs} if args.typ.startswith("aws:") else inputs
            return resource_outputs(args.typ, args.name, seen)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
            return call_outputs(args.token, dict(args.args)), []

    class Recorder(mocks.MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            if request.type != "pulumi:pulumi:Stack":
                inputs = pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True)
                records.append(PlannedResource(type=request.type, name=request.name, parent=_name_of(request.parent),
                                               properties=plain(dict(inputs)),
                                               component=not request.custom,
                                               protect=bool(request.protect)))  # fmt: skip
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]

    target = target_for(config)
    target.require_deployable(config)
    host = plan_host(target.name, config)
    secrets, _ = StackSecrets.from_config({})  # throwaway values, never stored nor printed
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    answers = Answers()
    pulumi.runtime.set_mocks(answers, project="helixflow", stack=stack, preview=False, monitor=Recorder(answers))
    program = target.program(config, lambda: secrets, StackPaths(home=PLAN_HOME, stack=stack), host)
    try:
        pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    except ValueError as err:  # a component refused its arguments
        raise HelixFlowError(f"the stack's program refused its settings: {err}",
                             hint="fix the setting it names (`helixflow config schema`)") from None
    finally:
        loop.close()
        asyncio.set_event_loop(None)  # nobody may run on the closed loop
    return records


def plan_resources(config: StackBase, stack: str = "plan") -> list[PlannedResource]:
    """Every resource the stack's program would create, as records (stable order: by parent, type, name).
    Raises HelixFlowError for a configuration the target or a component refuses."""
    with _lock, _CollectorHeld():
        import_sdks()
        records = _run(config, stack)
    return sort_resources(records)


def sort_resources(records: list[PlannedResource]) -> list[PlannedResource]:
    """Registration order is not deterministic: sort (parent, type, name), parents before their children."""
    return sorted(records, key=lambda r: (r.parent or "", r.type, r.name))


def properties_of(records: list[PlannedResource], type_: str) -> list[Mapping[str, Any]]:
    return [r.properties for r in records if r.type == type_]
