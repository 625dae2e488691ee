"""The shape every local long-running component shares, as a Pulumi dynamic provider.

create: prepare files, start the process, wait until healthy.
read:   alive and healthy? An empty id tells the engine the component is gone,
        so `up --refresh` starts it again.
update: restart with the new inputs (data directories are kept).
delete: stop the process (data is kept; `helixflow down --purge-data` removes it).

The provider classes are pickled by reference into the stack's state: their
module paths and names are a stable API. Do not move or rename them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider, UpdateResult

from helixflow.components.local.process import (
    ProcessError,
    ProcessExited,
    http_ok,
    is_running,
    start_process,
    start_ticks,
    stop_process,
    wait_until,
)


def whole_numbers(value: Any) -> Any:
    """The engine hands numbers to providers as floats (15432 arrives as 15432.0): turn whole ones back."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


class LocalServiceProvider(ResourceProvider):
    """Base for process-backed components. Subclasses set `what` and override the hooks.

    Raises ProcessError (shown by the engine as the resource's failure) when the
    process exits during start-up or is not healthy within `start_timeout`.
    """

    what = "service"

    # --- hooks -------------------------------------------------------------------
    def prepare(self, props: dict[str, Any]) -> None:
        """Write configuration, initialise data directories. Must be idempotent."""

    def argv(self, props: dict[str, Any]) -> list[str]:
        return [str(a) for a in props["argv"]]

    def environment(self, props: dict[str, Any]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.update({str(k): str(v) for k, v in (props.get("env") or {}).items()})
        return env

    def run_as(self, props: dict[str, Any]) -> str | None:
        return props.get("run_as") or None

    def healthy(self, props: dict[str, Any]) -> bool:
        return http_ok(str(props["health_url"]))

    def after_start(self, props: dict[str, Any]) -> dict[str, Any]:
        """Work that needs the running process (create a database, migrate). Returns extra outputs."""
        return {}

    # --- the provider protocol --------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        props = whole_numbers(props)
        outs = self._start(props)
        return CreateResult(id_=str(props["name"]), outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        props = whole_numbers(props)
        if not props or not self.alive_and_healthy(props):
            return ReadResult(id_="", outs={})
        return ReadResult(id_=id_, outs=props)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._stop(whole_numbers(olds))
        return UpdateResult(outs=self._start(whole_numbers(news)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._stop(whole_numbers(props))

    # --- shared mechanics ---------------------------------------------------------
    def alive_and_healthy(self, props: dict[str, Any]) -> bool:
        return is_running(props.get("pid"), props.get("started")) and self.healthy(props)

    def _pid_file(self, props: dict[str, Any]) -> Path:
        return Path(props["state_dir"]) / f"{props['name']}.pid"

    def _start(self, props: dict[str, Any]) -> dict[str, Any]:
        self._stop_stale(props)
        self.prepare(props)
        try:
            return self._launch(props)
        except ProcessExited as first:
            # One more try, as a supervisor would: the reason stays in the log, and a second failure is reported.
            with open(props["log_file"], "a") as log:
                log.write(f"=== helixflow: {first.args[0].splitlines()[0]}; starting it once more ===\n")
            return self._launch(props)

    def _launch(self, props: dict[str, Any]) -> dict[str, Any]:
        log_file = Path(props["log_file"])
        pid = start_process(
            self.argv(props), log_file, env=self.environment(props), user=self.run_as(props), label=str(props["name"])
        )
        started = start_ticks(pid)
        self._pid_file(props).parent.mkdir(parents=True, exist_ok=True)
        self._pid_file(props).write_text(f"{pid} {started}")
        try:
            wait_until(
                lambda: self.healthy(props),
                pid=pid,
                started=started,
                log_file=log_file,
                what=f"{self.what} '{props['name']}'",
                timeout=float(props.get("start_timeout", 60)),
            )
            extra = self.after_start(props)
        except ProcessError:
            stop_process(pid, started)
            raise
        return {**props, **extra, "pid": pid, "started": started}

    def _stop_stale(self, props: dict[str, Any]) -> None:
        """A process left by an interrupted `up` (no state recorded it) is found through its pid file."""
        try:
            pid, started = (int(v) for v in self._pid_file(props).read_text().split())
        except (OSError, ValueError):
            return
        stop_process(pid, started)

    def _stop(self, props: dict[str, Any]) -> None:
        stop_process(props.get("pid"), props.get("started"), timeout=float(props.get("stop_timeout", 10)))
        self._pid_file(props).unlink(missing_ok=True)


class LocalProcessProvider(LocalServiceProvider):
    """A process described entirely by its inputs (argv, env, health URL): the runtime's services,
    CPU engine workers and sglang-router."""

    what = "process"


class ProcessResource(Resource):
    """A component backed by one process; (pid, started) identify it for status checks."""

    pid: pulumi.Output[int]
    started: pulumi.Output[int]

    @staticmethod
    def props(name: str, *, state_dir: str, log_file: str, start_timeout: float, **own: Any) -> dict[str, Any]:
        """The inputs every process-backed component has, plus its own; pid and started are outputs."""
        return {
            "name": name,
            **own,
            "state_dir": state_dir,
            "log_file": log_file,
            "start_timeout": start_timeout,
            "pid": None,
            "started": None,
        }


class LocalProcess(ProcessResource):
    """A long-running process of the local stack, healthy when `health_url` answers 2xx.

    `argv` and `env` are stored as secrets: they carry connection strings, passwords and API keys.
    """

    def __init__(
        self,
        name: str,
        *,
        argv: list[str],
        env: pulumi.Input[dict[str, str]],
        health_url: str,
        state_dir: str,
        log_file: str,
        start_timeout: float = 60,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = ProcessResource.props(
            name,
            state_dir=state_dir,
            log_file=log_file,
            start_timeout=start_timeout,
            argv=pulumi.Output.secret(argv),
            env=pulumi.Output.secret(env),
            health_url=health_url,
        )
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["argv", "env"]))
        super().__init__(LocalProcessProvider(), name, props, opts)
