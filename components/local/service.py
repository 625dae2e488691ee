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
import signal
from abc import abstractmethod
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import pulumi
from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider, UpdateResult
from pydantic import BaseModel, ConfigDict

from helixflow.components.processes import (
    ProcessError,
    ProcessExited,
    http_ok,
    is_running,
    start_process,
    start_ticks,
    stop_process,
    wait_until,
)

PropsT = TypeVar("PropsT", bound="ProcessProps")


class ProcessProps(BaseModel):
    """The inputs every process-backed component has, decoded once from what the engine hands a
    provider (a protobuf Struct, in which every number arrives as a float), by their declared types.

    Subclasses add a component's own inputs; keys the model does not name (the engine's own) pass by."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    state_dir: str
    log_file: str
    start_timeout: float = 60
    stop_timeout: float = 10
    pid: int | None = None
    started: int | None = None

    @property
    def pid_file(self) -> Path:
        return Path(self.state_dir) / f"{self.name}.pid"


class LocalServiceProvider(ResourceProvider, Generic[PropsT]):
    """Base for process-backed components. Subclasses set `what` and `props_model` and override the hooks,
    which receive the typed inputs.

    Raises ProcessError (shown by the engine as the resource's failure) when the
    process exits during start-up or is not healthy within `start_timeout`.
    """

    what = "service"
    props_model: type[ProcessProps] = ProcessProps
    stop_signal: int = signal.SIGTERM  # what asks the process to stop; SIGKILL follows after stop_timeout

    # --- hooks -------------------------------------------------------------------
    def prepare(self, props: PropsT) -> None:
        """Write configuration, initialise data directories. Must be idempotent."""

    @abstractmethod
    def argv(self, props: PropsT) -> list[str]: ...

    def environment(self, props: PropsT) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}

    def run_as(self, props: PropsT) -> str | None:
        return None

    @abstractmethod
    def healthy(self, props: PropsT) -> bool: ...

    def after_start(self, props: PropsT) -> dict[str, Any]:
        """Work that needs the running process (create a database, migrate). Returns extra outputs."""
        return {}

    # --- the provider protocol --------------------------------------------------
    def decode(self, props: dict[str, Any]) -> PropsT:
        return cast(PropsT, self.props_model.model_validate(props))

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._start(props)
        return CreateResult(id_=str(props["name"]), outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not props or not self.alive_and_healthy(self.decode(props)):
            return ReadResult(id_="", outs={})
        return ReadResult(id_=id_, outs=props)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._stop(self.decode(olds))
        return UpdateResult(outs=self._start(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._stop(self.decode(props))

    # --- shared mechanics ---------------------------------------------------------
    def alive_and_healthy(self, props: PropsT) -> bool:
        return is_running(props.pid, props.started) and self.healthy(props)

    def _start(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Start the process; returns the outputs: the inputs as given, plus what the start found."""
        props = self.decode(raw)
        self._stop_stale(props)
        self.prepare(props)
        try:
            started = self._launch(props)
        except ProcessExited as first:
            # One more try, as a supervisor would: the reason stays in the log, and a second failure is reported.
            with open(props.log_file, "a") as log:
                log.write(f"=== helixflow: {first.args[0].splitlines()[0]}; starting it once more ===\n")
            started = self._launch(props)
        return {**raw, **started}

    def _launch(self, props: PropsT) -> dict[str, Any]:
        log_file = Path(props.log_file)
        pid = start_process(
            self.argv(props), log_file, env=self.environment(props), user=self.run_as(props), label=props.name
        )
        started = start_ticks(pid)
        props.pid_file.parent.mkdir(parents=True, exist_ok=True)
        props.pid_file.write_text(f"{pid} {started}")
        try:
            wait_until(
                lambda: self.healthy(props),
                pid=pid,
                started=started,
                log_file=log_file,
                what=f"{self.what} '{props.name}'",
                timeout=props.start_timeout,
            )
            extra = self.after_start(props)
        except ProcessError:
            stop_process(pid, started)
            raise
        return {**extra, "pid": pid, "started": started}

    def _stop_stale(self, props: PropsT) -> None:
        """A process left by an interrupted `up` (no state recorded it) is found through its pid file."""
        try:
            pid, started = (int(v) for v in props.pid_file.read_text().split())
        except (OSError, ValueError):
            return
        stop_process(pid, started, sig=self.stop_signal)

    def _stop(self, props: PropsT) -> None:
        stop_process(props.pid, props.started, timeout=props.stop_timeout, sig=self.stop_signal)
        props.pid_file.unlink(missing_ok=True)


class ProcessSpec(ProcessProps):
    """A process described entirely by its inputs."""

    argv: list[str]
    env: dict[str, str]
    health_url: str


class LocalProcessProvider(LocalServiceProvider[ProcessSpec]):
    """A process described entirely by its inputs (argv, env, health URL): the runtime's services,
    CPU engine workers and sglang-router."""

    what = "process"
    props_model = ProcessSpec

    def argv(self, props: ProcessSpec) -> list[str]:
        return props.argv

    def environment(self, props: ProcessSpec) -> dict[str, str]:
        return {**super().environment(props), **props.env}

    def healthy(self, props: ProcessSpec) -> bool:
        return http_ok(props.health_url)


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
