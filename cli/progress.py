"""Live progress on stderr, drawn from the engine's events."""

from __future__ import annotations

import threading
import time
from typing import Any

from helixflow.cli.output import err_console

VERB = {
    "create": "creating",
    "update": "updating",
    "delete": "deleting",
    "replace": "replacing",
    "create-replacement": "replacing",
    "delete-replaced": "removing old",
    "refresh": "checking",
    "read": "reading",
}
SKIP_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


class EngineProgress:
    """An `on_event` callback: a spinner naming what is in flight, one line per finished step."""

    def __init__(self, title: str) -> None:
        self.console = err_console()
        self.title = title
        self.in_flight: dict[str, tuple[str, float]] = {}
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.status = self.console.status(title)

    def __enter__(self) -> EngineProgress:
        self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.__exit__(None, None, None)

    def _refresh_status(self) -> None:
        names = ", ".join(f"{VERB.get(op, op)} {name}" for name, (op, _) in self.in_flight.items())
        self.status.update(f"{self.title}: {names}" if names else self.title)

    def __call__(self, event: Any) -> None:
        with self.lock:
            self._handle(event)

    def _handle(self, event: Any) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if meta.type.startswith(SKIP_TYPES) or str(meta.op.value) == "same":
                return
            self.in_flight[_name(meta.urn)] = (str(meta.op.value), time.monotonic())
            self._refresh_status()
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            op, started = self.in_flight.pop(_name(meta.urn), (str(meta.op.value), time.monotonic()))
            if meta.type.startswith(SKIP_TYPES) or op == "same":
                return
            elapsed = time.monotonic() - started
            self.console.print(f"  [green]✓[/] {_name(meta.urn):<18} {op:<10} {elapsed:5.1f}s")
            self._refresh_status()
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            self.in_flight.pop(_name(meta.urn), None)
            self.console.print(f"  [red]✗[/] {_name(meta.urn):<18} {meta.op.value} failed")
            self._refresh_status()
        elif event.diagnostic_event is not None:
            diag = event.diagnostic_event
            if diag.severity == "error" and diag.message.strip():
                where = _name(diag.urn) if diag.urn else "engine"
                message = diag.message.strip().splitlines()[0][:200]
                self.failures.append(f"{where}: {message}")
