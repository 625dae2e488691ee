"""Runs a stack's program through the Pulumi Automation API.

Inline programs (so it works from an installed wheel), a file backend under
$HELIXFLOW_HOME, a generated passphrase file (0600) for secrets. Every check that
can fail without touching a resource (configuration, binaries, ports, the lock)
runs before the engine starts.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from helixflow.stacks.config import NAMESPACE, StackConfig, parse_config, split_namespace
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.locks import clear_stale_lock, describe_live_lock
from helixflow.stacks.orphans import stop_orphaned_providers
from helixflow.stacks.paths import PROJECT, STACK_NAME_PATTERN, StackPaths
from helixflow.stacks.pulumi_cli import INSTALL_HINT, find_pulumi
from helixflow.stacks.secrets import CONFIG_KEYS, SecretSource, StackSecrets
from helixflow.stacks.targets import ComponentStatus, Target, target_for

if TYPE_CHECKING:
    from pulumi import automation as auto

EventHandler = Callable[[Any], None]


@dataclass
class RunSummary:
    """What an engine run did: counts per operation, wall time, outputs without secrets."""

    result: str
    changes: dict[str, int]
    seconds: float
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeployedStack:
    """What a deployed stack exported (secrets included), and the secret values no response may contain."""

    outputs: dict[str, Any]
    secret_values: tuple[str, ...]


def validate_stack_name(name: str) -> str:
    if not re.fullmatch(STACK_NAME_PATTERN, name):
        raise HelixFlowError(
            f"invalid stack name {name!r}",
            hint="use letters, digits, '-', '_' or '.', starting with a letter or digit (at most 63 characters)",
        )
    return name


def read_config_file(path: Path) -> dict[str, Any]:
    """The `config:` map of a Pulumi.<stack>.yaml ({} when the file does not exist)."""
    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, OSError) as err:
        raise HelixFlowError(f"{path} is not readable YAML: {err}", hint="fix the file or remove it") from None
    config = document.get("config") if isinstance(document, dict) else None
    return config if isinstance(config, dict) else {}


def stack_of_config_file(path: Path) -> str:
    """The stack a checked-in `Pulumi.<stack>.yaml` is for."""
    name = path.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))) or name.count(".") < 2:
        raise HelixFlowError(f"{path} is not named Pulumi.<stack>.yaml", hint="name the stack with -s STACK")
    return validate_stack_name(name.removeprefix("Pulumi.").rsplit(".", 1)[0])


def load_config_file(path: Path) -> StackConfig:
    """A stack configuration from any Pulumi.<stack>.yaml (a checked-in one): no workspace needed."""
    if not path.is_file():
        raise HelixFlowError(f"no stack configuration file {path}", hint="give the path of a Pulumi.<stack>.yaml")
    settings, _ = split_namespace(read_config_file(path))
    return parse_config(settings, source=str(path))


class StackDriver:
    """One stack's lifecycle, for any target: what differs between targets is asked of its Target.
    Raises HelixFlowError for every failure a user can act on.

    With `config_file` (a checked-in Pulumi.<stack>.yaml), the settings come from that file; the stack's
    generated secrets stay in its workspace file, which each engine run brings in line with the settings."""

    def __init__(self, stack: str, config_file: Path | None = None) -> None:
        self.name = validate_stack_name(stack)
        self.paths = StackPaths.for_stack(stack)
        self.config_file = config_file
        if config_file is not None and not config_file.is_file():
            raise HelixFlowError(f"no stack configuration file {config_file}",
                                 hint="give the path of a Pulumi.<stack>.yaml")  # fmt: skip

    # --- configuration (no engine needed) -------------------------------------------
    def raw_config(self) -> dict[str, Any]:
        workspace = read_config_file(self.paths.config_file)
        if self.config_file is None:
            return workspace
        _, kept_secrets = split_namespace(workspace)
        checked_in = {k: v for k, v in read_config_file(self.config_file).items()
                      if k.partition(":")[2] not in CONFIG_KEYS.values()}  # fmt: skip
        return {**checked_in, **{f"{NAMESPACE}:{k}": v for k, v in kept_secrets.items()}}

    def load_config(self) -> StackConfig:
        settings, _ = split_namespace(self.raw_config())
        return parse_config(settings, source=str(self.config_file or self.paths.config_file))

    def _sync_checked_in_config(self) -> None:
        """Write the checked-in settings into the workspace file, keeping its secrets and encryption salt."""
        if self.config_file is None:
            return
        path = self.paths.config_file
        document: Any = yaml.safe_load(path.read_text()) if path.exists() else {}
        document = document if isinstance(document, dict) else {}
        document["config"] = self.raw_config()
        path.write_text(yaml.safe_dump(document, sort_keys=True))

    def target(self) -> Target[Any]:
        return target_for(self.load_config())

    def exists(self) -> bool:
        return self.paths.config_file.exists() or any(self._state_files())

    def _state_files(self) -> list[Path]:
        stacks = self.paths.backend_dir / ".pulumi" / "stacks" / PROJECT
        return [p for p in stacks.glob(f"{self.name}.json*") if p.is_file()] if stacks.exists() else []

    # --- workspace ---------------------------------------------------------------------
    def _ensure_home(self) -> None:
        for directory in (self.paths.backend_dir, self.paths.project_dir, self.paths.logs_dir):
            directory.mkdir(parents=True, exist_ok=True)
        passphrase = self.paths.passphrase_file
        if not passphrase.exists():
            fd = os.open(passphrase, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))

    def _env(self) -> dict[str, str]:
        return {
            "PULUMI_BACKEND_URL": f"file://{self.paths.backend_dir}",
            "PULUMI_CONFIG_PASSPHRASE_FILE": str(self.paths.passphrase_file),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_PYTHON_CMD": sys.executable,
            "PULUMI_HOME": str(self.paths.pulumi_home),
        }

    def _stack(self, program: Callable[[], None] | None = None) -> auto.Stack:
        from pulumi import automation as auto

        self._ensure_home()
        self._sync_checked_in_config()
        pulumi_cli = find_pulumi(verify=False)
        try:
            command = auto.PulumiCommand(root=str(pulumi_cli.root))
        except (auto.InvalidVersionError, OSError, subprocess.CalledProcessError) as err:
            message = f"the Pulumi CLI at {pulumi_cli.binary} is not usable: {err}"
            raise HelixFlowError(message, hint=INSTALL_HINT) from None
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(self.paths.project_dir),
            pulumi_command=command,
            env_vars=self._env(),
            project_settings=auto.ProjectSettings(
                name=PROJECT, runtime="python", backend=auto.ProjectBackend(url=f"file://{self.paths.backend_dir}")
            ),
        )
        return auto.create_or_select_stack(
            stack_name=self.name, project_name=PROJECT, program=program or (lambda: None), opts=opts
        )

    def _secrets(self, stack: auto.Stack) -> SecretSource:
        """Generate and store the secrets a stack lacks; the program reads them from the engine when it runs.
        Which ones exist is read from the stack's file: no `pulumi config` run (~0.35 s) when all do."""
        from pulumi import automation as auto

        generated = StackSecrets.generate_missing(split_namespace(self.raw_config())[1])
        if generated:
            stack.set_all_config(
                {f"{NAMESPACE}:{k}": auto.ConfigValue(value=v, secret=True) for k, v in generated.items()}
            )
        return StackSecrets.from_engine

    # --- operations --------------------------------------------------------------------
    def _prepare(self, config: StackConfig) -> tuple[Target[Any], Any]:
        """The stack's target, refusing what it cannot deploy, and what its preflight found on the host."""
        target = target_for(config)
        target.require_deployable(config)
        return target, target.preflight(config, self.paths)

    def _guard_lock(self) -> None:
        held = describe_live_lock(self.paths.backend_dir, self.name)
        if held:
            raise HelixFlowError(
                f"stack '{self.name}' is busy: {held}",
                hint="wait for that run to finish; nothing was changed by this one",
            )
        clear_stale_lock(self.paths.backend_dir, self.name)
        stop_orphaned_providers(self._env()["PULUMI_BACKEND_URL"])

    def check_policies(self, config: StackConfig) -> None:
        """The policy pack over the stack's plan, before anything is created: a mandatory violation stops `up`.

        The plan runs under Pulumi's mocks, which set the SDK's process-wide state, so it runs in a child
        process (`helixflow plan`), not beside the engine run. `local` stacks are processes on this machine,
        which no rule is about: they skip it and its seconds.
        """
        if config.target == "local":
            return
        source = ["--config", str(self.config_file)] if self.config_file else []
        command = [sys.executable, "-m", "helixflow.cli.main", "plan", "-s", self.name, *source, "--json"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            said = done.stderr.strip().splitlines()
            raise HelixFlowError(f"stack '{self.name}' fails its policy check: {' '.join(said[-4:])}",
                                 hint=f"see `helixflow plan -s {self.name}`; nothing was created")  # fmt: skip

    def up(self, on_event: EventHandler | None = None) -> RunSummary:
        config = self.load_config()
        target, host = self._prepare(config)
        self.check_policies(config)
        self._guard_lock()
        started = time.monotonic()
        stack = self._stack()
        program = target.program(config, self._secrets(stack), self.paths, host)
        self._clear_pending(stack)
        refresh = target.needs_refresh(self._checkpoint_outputs())
        result = self._run(lambda: stack.up(program=program, refresh=refresh, on_event=on_event, color="never"))
        return RunSummary(
            result=result.summary.result,
            changes=dict(result.summary.resource_changes or {}),
            seconds=time.monotonic() - started,
            outputs=_plain_outputs(result.outputs),
        )

    def preview(self, on_event: EventHandler | None = None) -> RunSummary:
        config = self.load_config()
        target, host = self._prepare(config)
        started = time.monotonic()
        stack = self._stack()
        program = target.program(config, self._secrets(stack), self.paths, host)
        result = self._run(lambda: stack.preview(program=program, refresh=True, on_event=on_event, color="never"))
        return RunSummary(result="preview", changes=dict(result.change_summary), seconds=time.monotonic() - started)

    def refresh(self, on_event: EventHandler | None = None) -> RunSummary:
        self._require_exists()
        self._guard_lock()
        started = time.monotonic()
        stack = self._stack()
        result = self._run(lambda: stack.refresh(clear_pending_creates=True, on_event=on_event, color="never"))
        return RunSummary(
            result=result.summary.result,
            changes=dict(result.summary.resource_changes or {}),
            seconds=time.monotonic() - started,
        )

    def down(self, purge_data: bool = False, on_event: EventHandler | None = None) -> RunSummary:
        self._require_exists()
        config = self.load_config()
        target_for(config).check_down(config, self.paths, self._checkpoint_outputs())
        self._guard_lock()
        started = time.monotonic()
        stack = self._stack()
        self._clear_pending(stack)
        result = self._run(lambda: stack.destroy(on_event=on_event, color="never"))
        if purge_data:
            target_for(config).purge(config, self.paths)
            # new data stores get new passwords
            stack.remove_all_config([f"{NAMESPACE}:{k}" for k in CONFIG_KEYS.values()])
        return RunSummary(
            result=result.summary.result,
            changes=dict(result.summary.resource_changes or {}),
            seconds=time.monotonic() - started,
        )

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        """What the stack's program exported; secret values masked unless show_secrets."""
        self._require_exists()
        stack = self._stack()
        values = stack.outputs()
        return {
            key: (item.value if show_secrets or not item.secret else "[secret]") for key, item in values.items()
        }

    def status(self) -> list[ComponentStatus]:
        """Each component's state, as the stack's target reads it from the outputs and what answers now."""
        return self.target().status(self.outputs())

    def deployed(self) -> DeployedStack:
        """The outputs with their secrets, and the stack's generated secret values (one engine start for both)."""
        self._require_exists()
        stack = self._stack()
        outputs = {key: item.value for key, item in stack.outputs().items()}
        config = {key.partition(":")[2]: item.value for key, item in stack.get_all_config().items()}
        generated = tuple(str(config[k]) for k in CONFIG_KEYS.values() if config.get(k))
        return DeployedStack(outputs=outputs, secret_values=generated)

    def set_config(self, key: str, value: str) -> StackConfig:
        """Set `helixflow:<key>` (dotted paths reach nested settings); validated before it is kept."""
        from pulumi import automation as auto

        top = key.split(".", 1)[0]
        if top in CONFIG_KEYS.values():
            raise HelixFlowError(f"{key} is generated by HelixFlow and cannot be set", hint="choose a setting")
        candidate = split_namespace(self.raw_config())[0]
        _assign_path(candidate, key.split("."), yaml.safe_load(value) if value else value)
        config = parse_config(candidate, source=f"value for {key}")
        stack = self._stack()
        stack.set_config(f"{NAMESPACE}:{key}", auto.ConfigValue(value=value), path=True)
        return config

    # --- helpers -----------------------------------------------------------------------
    def _require_exists(self) -> None:
        if not self.exists():
            raise HelixFlowError(f"stack '{self.name}' does not exist", hint="create it with `helixflow up`")

    def _checkpoint(self) -> dict[str, Any] | None:
        """The latest deployment, read from the file backend directly (`pulumi stack export` costs a second).
        None when there is none or it cannot be read (then the engine must look)."""
        state_file = self.paths.backend_dir / ".pulumi" / "stacks" / PROJECT / f"{self.name}.json"
        try:
            latest = json.loads(state_file.read_text()).get("checkpoint", {}).get("latest")
        except (OSError, ValueError, AttributeError):
            return None
        return latest if isinstance(latest, dict) else None

    def _has_pending_operations(self) -> bool:
        latest = self._checkpoint()
        return bool(latest and latest.get("pending_operations"))

    def _checkpoint_outputs(self) -> dict[str, Any]:
        """The stack's outputs as the latest checkpoint has them (empty when unknown)."""
        resources = (self._checkpoint() or {}).get("resources", [])
        outputs: Any = next((r.get("outputs", {}) for r in resources if r.get("type") == "pulumi:pulumi:Stack"), {})
        return outputs if isinstance(outputs, dict) else {}

    def _clear_pending(self, stack: auto.Stack) -> None:
        """An interrupted run leaves pending operations; a refresh that clears them lets the next run converge."""
        if self._has_pending_operations():
            self._run(lambda: stack.refresh(clear_pending_creates=True, color="never"))

    def _run(self, operation: Callable[[], Any]) -> Any:
        from pulumi import automation as auto

        try:
            return operation()
        except auto.ConcurrentUpdateError:
            held = describe_live_lock(self.paths.backend_dir, self.name) or "another run holds its lock"
            raise HelixFlowError(f"stack '{self.name}' is busy: {held}", hint="wait for that run to finish") from None
        except auto.CommandError as err:
            raise HelixFlowError(_engine_failure(str(err)), hint=f"see the logs under {self.paths.logs_dir}") from None


def _assign_path(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        nested = target.get(part)
        if not isinstance(nested, dict):
            nested = {}
            target[part] = nested
        target = nested
    target[parts[-1]] = value


def _plain_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    return {k: ("[secret]" if v.secret else v.value) for k, v in outputs.items()}


_EXCEPTION_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception)): (.+)$")


def _engine_failure(text: str) -> str:
    """The engine's error text reduced to what failed: the providers' exception messages when there
    are any (with the log lines they carry), else the engine's own error lines."""
    lines = text.splitlines()
    reasons: list[str] = []
    for index, line in enumerate(lines):
        match = _EXCEPTION_LINE.match(line)
        if match and match.group(1) not in ("CommandError",):
            detail = [match.group(2).strip()]
            detail += [ln.strip() for ln in lines[index + 1 : index + 4] if ln.strip() and "error:" not in ln]
            reasons.append(" / ".join(detail))
    if not reasons:
        reasons = [ln.strip() for ln in lines if "error:" in ln.lower() and "update failed" not in ln]
    reduced = " | ".join(dict.fromkeys(reasons))[:1500]
    return f"Pulumi reported a failure: {reduced or text.strip()[-800:]}"
