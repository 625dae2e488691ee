"""One engine run per tenant stack, and nothing more: the Automation API's `up` and `destroy` follow the engine
run with `pulumi stack output` twice and `pulumi stack history` (three more CLI starts, one of them decrypting
the stack's secrets: ~0.7 s of CPU a tenant). A tenant stack's outputs are read from its checkpoint file
instead, the run's summary from the engine's own summary event, and the stack is never `select`ed (every
command names it with --stack).

`PhaseClock` turns the engine's events into where a tenant's run spent its time (`tenant apply --json`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode

EventHandler = Callable[[Any], None]
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # how a checkpoint marks an (encrypted) secret value
PLATFORM_REFERENCE = "pulumi:pulumi:StackReference"
ENGINE_TYPES = ("pulumi:pulumi:Stack", PLATFORM_REFERENCE)
# the phases of one tenant's run, in order (seconds each; they add up to the run's wall time)
PHASES = ("prepare", "engine_start", "platform_read", "provider_start", "resources", "finish")


class PhaseClock:
    """Marks the moments of one run from its engine events (called from the engine's event thread)."""

    def __init__(self, then: EventHandler | None = None, program: bool = True) -> None:
        """program: False for a destroy, which runs no program (no platform read, nothing created): its time
        between the engine's start and its summary is all `resources`."""
        self.started = time.monotonic()
        self._program = program
        self._then = then
        self._lock = threading.Lock()
        self.marks: dict[str, float] = {}
        self.summary: Any = None

    def mark(self, name: str) -> None:
        with self._lock:
            self.marks.setdefault(name, time.monotonic())

    def __call__(self, event: Any) -> None:
        if event.prelude_event is not None:
            self.mark("prelude")
        elif not self._program:
            pass
        elif event.resource_pre_event is not None:
            kind = event.resource_pre_event.metadata.type
            if kind not in ENGINE_TYPES and not kind.startswith("pulumi:providers:"):
                self.mark("first_resource")
        elif event.res_outputs_event is not None and event.res_outputs_event.metadata.type == PLATFORM_REFERENCE:
            self.mark("platform_read")
        if event.summary_event is not None:
            self.summary = event.summary_event
            self.mark("summary")
        if self._then is not None:
            self._then(event)

    def phases(self) -> dict[str, float]:
        """Seconds per phase; a phase whose events did not come (a destroy has no reference read) is folded
        into the next one, so they still add up to the wall time."""
        ends = {"prepare": "engine", "engine_start": "prelude", "platform_read": "platform_read",
                "provider_start": "first_resource", "resources": "summary", "finish": "done"}  # fmt: skip
        result: dict[str, float] = {}
        previous = self.started
        for phase in PHASES:
            end = self.marks.get(ends[phase])
            if end is None or end < previous:
                result[phase] = 0.0
                continue
            result[phase] = round(end - previous, 3)
            previous = end
        return result


class TenantEngineStack(auto.Stack):
    """An `auto.Stack` whose up and destroy run the engine once. `checkpoint_outputs` gives the stack's
    outputs as its checkpoint has them (secrets masked); `clock` has the run's summary event."""

    def __init__(self, name: str, workspace: auto.LocalWorkspace, clock: PhaseClock,
                 checkpoint_outputs: Callable[[], dict[str, Any]]) -> None:  # fmt: skip
        # Not auto.Stack.__init__: it runs `pulumi stack select`, which no command here needs.
        self.name = name
        self.workspace = workspace
        self._mode = StackInitMode.SELECT  # what the stack is: an existing one, named by every command
        self._clock = clock
        self._checkpoint_outputs = checkpoint_outputs

    def outputs(self) -> auto.OutputMap:
        return {key: auto.OutputValue(value="[secret]" if _is_secret(value) else value, secret=_is_secret(value))
                for key, value in self._checkpoint_outputs().items()}  # fmt: skip

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        summary = self._clock.summary
        now = datetime.now(UTC)
        return auto.UpdateSummary(
            kind="update", start_time=now, message="", environment={}, config={},
            result="succeeded" if summary is not None else "unknown", end_time=now,
            resource_changes=dict(summary.resource_changes) if summary is not None else {},
        )  # fmt: skip


def init_stack(workspace: auto.LocalWorkspace, name: str) -> None:
    """`pulumi stack init --no-select`: the SDK's create_stack selects the new stack (the workspace's one
    current-stack file), so parallel inits would have to queue for it; every command here names its stack."""
    env = {**({"PULUMI_HOME": workspace.pulumi_home} if workspace.pulumi_home else {}), **workspace.env_vars}
    workspace.pulumi_command.run(["stack", "init", name, "--no-select"], workspace.work_dir, env)


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and SECRET_SIGNATURE in value
