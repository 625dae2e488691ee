"""One engine run per tenant, and where its time goes: no CLI run after the engine (outputs from the checkpoint,
the summary from the engine's event, the key from the program), the platform's salt shared with a new tenant
stack, and per-phase times that add up to the run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from helixflow.stacks.tenants.engine import PHASES, SECRET_SIGNATURE, PhaseClock, TenantEngineStack
from helixflow.stacks.tenants.program import TenantContext, build_tenant_program
from helixflow.stacks.tenants.spec import TenantSpec
from tests.tenants.test_tenant_manifests import PlatformRecorder

pytestmark = pytest.mark.unit


def event(**kinds: Any) -> SimpleNamespace:
    names = ("prelude_event", "resource_pre_event", "res_outputs_event", "summary_event")
    return SimpleNamespace(**{name: kinds.get(name) for name in names})


def step(kind: str) -> SimpleNamespace:
    return SimpleNamespace(metadata=SimpleNamespace(type=kind))


def test_the_phases_follow_the_engine_events_and_add_up_to_the_run() -> None:
    seen: list[Any] = []
    clock = PhaseClock(seen.append)
    clock.started = 100.0
    clock.marks = {"engine": 100.5, "prelude": 101.0}
    timeline = [(event(resource_pre_event=step("pulumi:pulumi:StackReference")), None),
                (event(res_outputs_event=step("pulumi:pulumi:StackReference")), "platform_read"),
                (event(resource_pre_event=step("pulumi:providers:pulumi-python")), None),
                (event(resource_pre_event=step("pulumi-python:dynamic:Resource")), "first_resource"),
                (event(summary_event=SimpleNamespace(resource_changes={"create": 2})), "summary")]  # fmt: skip
    for moment, (engine_event, mark) in zip((101.2, 101.3, 101.5, 101.6, 102.0), timeline, strict=True):
        clock(engine_event)
        if mark:
            clock.marks[mark] = moment  # the clock marked it with the real time: pin it for the arithmetic
    clock.marks["done"] = 102.5
    phases = clock.phases()
    assert list(phases) == list(PHASES) and len(seen) == 5  # and every event went on to the caller's handler
    assert phases == {"prepare": 0.5, "engine_start": 0.5, "platform_read": 0.3, "provider_start": 0.3,
                      "resources": 0.4, "finish": 0.5}  # fmt: skip
    assert clock.summary.resource_changes == {"create": 2}


def test_a_phase_without_its_event_is_folded_into_the_next() -> None:
    clock = PhaseClock()  # a destroy reads no platform and may create nothing
    clock.started = 0.0
    clock.marks = {"engine": 1.0, "prelude": 2.0, "summary": 4.0, "done": 5.0}
    assert clock.phases() == {"prepare": 1.0, "engine_start": 1.0, "platform_read": 0.0, "provider_start": 0.0,
                              "resources": 2.0, "finish": 1.0}  # fmt: skip


def test_outputs_and_summary_come_without_a_cli_run() -> None:
    clock = PhaseClock()
    clock(event(summary_event=SimpleNamespace(resource_changes={"create": 3})))
    sealed = {SECRET_SIGNATURE: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "x"}
    checkpoint = {"tenant": "acme", "api_key": sealed}
    workspace: Any = SimpleNamespace()  # a CLI run would need a real workspace: none is made
    stack = TenantEngineStack("unit.tenant.acme", workspace, clock, lambda: checkpoint)
    outputs = stack.outputs()
    assert outputs["tenant"].value == "acme" and not outputs["tenant"].secret
    assert outputs["api_key"].secret and outputs["api_key"].value == "[secret]"
    summary = stack.info()
    assert summary is not None and summary.resource_changes == {"create": 3} and summary.result == "succeeded"


class KeyRecorder(PlatformRecorder):
    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        name, state = super().new_resource(args)
        if args.typ == "pulumi-python:dynamic:Resource":
            state = {**state, "api_key": "hf_made_by_the_runtime", "tenant_id": "t-1"}
        return name, state


def test_the_program_hands_the_new_key_to_the_caller_in_process() -> None:
    import asyncio

    import pulumi

    handed: list[str] = []
    context = TenantContext(platform="unit", admin_api=True, cluster=None)
    program = build_tenant_program(TenantSpec(name="acme"), context, on_api_key=handed.append)
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(KeyRecorder(), project="helixflow", stack="unit.tenant.acme", preview=False)
    pulumi.runtime.test(program)()
    assert handed == ["hf_made_by_the_runtime"]


def test_a_new_tenant_stack_gets_its_platforms_salt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helixflow.stacks.tenants.driver import TenantStack

    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path))
    project = tmp_path / "project"
    project.mkdir()
    salt = "v1:QoSmUhBRL5c=:v1:cnAQIBu8d3WQD0EB:nMWqYCOOYdOIs3grl5QT2LKx9/jmQg=="
    (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"encryptionsalt": salt, "config": {}}))
    TenantStack("prod", "acme")._share_platform_salt()
    assert yaml.safe_load((project / "Pulumi.prod.tenant.acme.yaml").read_text()) == {"encryptionsalt": salt}
    own = {"encryptionsalt": "v1:b3du:v1:x:y", "config": {"helixflow:poolApiKey": {"secure": "v1:z"}}}
    (project / "Pulumi.prod.tenant.globex.yaml").write_text(yaml.safe_dump(own))
    TenantStack("prod", "globex")._share_platform_salt()  # a stack's own salt is never replaced
    assert yaml.safe_load((project / "Pulumi.prod.tenant.globex.yaml").read_text()) == own


def test_a_destroys_time_between_start_and_summary_is_all_resources() -> None:
    clock = PhaseClock(program=False)
    clock(event(resource_pre_event=step("pulumi-python:dynamic:Resource")))  # a delete step: not a program's
    clock(event(res_outputs_event=step("pulumi:pulumi:StackReference")))
    assert "first_resource" not in clock.marks and "platform_read" not in clock.marks
    clock(event(summary_event=SimpleNamespace(resource_changes={"delete": 2})))
    assert "summary" in clock.marks and clock.summary.resource_changes == {"delete": 2}
