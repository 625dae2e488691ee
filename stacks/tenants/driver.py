"""One tenant's stack: deploy (create or update) and destroy, through the same workspace as platform stacks.

The tenant stack is `<platform>.tenant.<name>` in the platform's backend; its program only references the
platform stack. What the program needs beyond the platform's outputs is read from the platform's latest
checkpoint (a file read, no engine) before the engine starts, so a bad request fails before anything runs.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from helixflow.stacks.driver import EventHandler, StackDriver, validate_stack_name
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import PROJECT
from helixflow.stacks.tenants.program import (
    KEY_SEED_CONFIG,
    POOL_KEY_CONFIG,
    RECORD_JOB,
    ClusterTenant,
    TenantContext,
    build_tenant_program,
)
from helixflow.stacks.tenants.spec import STACK_NAME_MAX, TenantSpec, tenant_stack_name

if TYPE_CHECKING:  # the engine module imports pulumi.automation: `tenant list` need not
    from helixflow.stacks.tenants.engine import PhaseClock, TenantEngineStack


@dataclass(frozen=True)
class TenantRun:
    """What one engine run of a tenant stack did. `api_key` only when this run made the tenant's key."""

    tenant: str
    stack: str
    action: str  # create | update | delete
    changes: dict[str, int]
    seconds: float
    outputs: dict[str, Any] = field(default_factory=dict)
    api_key: str | None = None
    phases: dict[str, float] = field(default_factory=dict)  # where the run's time went (engine.PHASES)

    def to_dict(self) -> dict[str, Any]:
        data = {"tenant": self.tenant, "stack": self.stack, "action": self.action, "changes": self.changes,
                "seconds": round(self.seconds, 2), "outputs": self.outputs, "phases": self.phases}  # fmt: skip
        return data | ({"api_key": self.api_key} if self.api_key else {})


def platform_outputs(platform: str) -> dict[str, Any]:
    """The platform stack's outputs as its latest checkpoint has them (secrets still encrypted).
    Raises HelixFlowError when it is not up."""
    outputs: dict[str, Any] = StackDriver(validate_stack_name(platform))._checkpoint_outputs()
    if not outputs:
        raise HelixFlowError(
            f"platform stack '{platform}' is not up (it has no outputs)",
            hint=f"bring it up with `helixflow up -s {platform}`, or name another platform with -s",
        )
    return outputs


def tenant_context(platform: str, spec: TenantSpec, outputs: dict[str, Any] | None = None,
                   recorded: dict[str, Any] | None = None) -> TenantContext:  # fmt: skip
    """Raises HelixFlowError for what this platform cannot give the tenant. `outputs`: the platform's, when
    the caller read them already; `recorded`: the tenant stack's own outputs (how its record was made)."""
    outputs = platform_outputs(platform) if outputs is None else outputs
    cluster = _cluster_tenant(platform, spec, outputs) if outputs.get("kubeconfig") else None
    # A cluster's tenant record is written by a Job inside it (its gateway may not be reachable from here);
    # a cluster tenant recorded through the admin API before keeps that record and its key.
    admin_api = bool(outputs.get("endpoint")) and "admin_api_key" in outputs
    if cluster is not None:
        admin_api = admin_api and "tenant_id" in (recorded or {})
    if cluster is None and (spec.gpus or spec.model):
        raise HelixFlowError(
            f"tenant {spec.name!r} asks for GPUs or a dedicated model, but platform '{platform}' is not a cluster "
            "(its engine workers are shared by every tenant)",
            hint="drop --gpus/--model, or create the tenant on a kubernetes, aws or gcp platform",
        )
    if not admin_api and cluster is None:
        raise HelixFlowError(f"platform '{platform}' exports neither an admin API nor a cluster",
                             hint="bring the platform up with this release (`helixflow up`)")  # fmt: skip
    return TenantContext(platform=platform, admin_api=admin_api, cluster=cluster)


def _cluster_tenant(platform: str, spec: TenantSpec, outputs: dict[str, Any]) -> ClusterTenant:
    from helixflow.stacks.config.kubernetes import RUNTIME_IMAGE, SGLANG_IMAGE

    platform_namespace = str(outputs.get("namespace") or "helixflow")
    namespace = f"{platform_namespace}-tenant-{spec.name}"
    if len(namespace) > STACK_NAME_MAX:
        raise HelixFlowError(f"tenant namespace {namespace!r} is longer than 63 characters",
                             hint="choose a shorter tenant name")  # fmt: skip
    config = StackDriver(platform).load_config()
    section = getattr(config, str(config.target), None)
    images = getattr(section, "images", None)
    if spec.gpus and spec.model and getattr(section, "gpus_per_worker", None) is None:
        raise HelixFlowError(f"platform '{platform}' has no GPU workers", hint="give the platform GPU workers first")
    return ClusterTenant(
        namespace=namespace, platform_namespace=platform_namespace,
        runtime_image=getattr(images, "runtime", RUNTIME_IMAGE), sglang_image=getattr(images, "sglang", SGLANG_IMAGE),
        gpus_per_worker=int(getattr(section, "gpus_per_worker", 1) or 1),
    )  # fmt: skip


class TenantStack(StackDriver):
    """A tenant's stack on a platform. Raises HelixFlowError for every failure a user can act on."""

    # One workspace per home, shared by every tenant stack of the process (each command names its stack):
    # a tenant's run then pays for no `pulumi version` nor project file of its own. Stacks are selected one
    # at a time (the CLI records the current stack in a file); the engine runs themselves go in parallel.
    _workspace_lock: ClassVar[threading.Lock] = threading.Lock()
    _workspaces: ClassVar[dict[Path, Any]] = {}

    def __init__(self, platform: str, tenant: str) -> None:
        validate_stack_name(platform)
        super().__init__(tenant_stack_name(platform, tenant))
        self.platform = platform
        self.tenant = tenant

    def _workspace(self) -> Any:
        with TenantStack._workspace_lock:
            workspace = TenantStack._workspaces.get(self.paths.home)
            if workspace is None:
                workspace = super()._stack().workspace
                TenantStack._workspaces[self.paths.home] = workspace
            return workspace

    def _stack(self, program: Any = None) -> Any:
        from pulumi import automation as auto

        workspace = self._workspace()
        with TenantStack._workspace_lock:
            return auto.Stack.create_or_select(self.name, workspace)

    def _engine_stack(self, clock: PhaseClock) -> TenantEngineStack:
        """The stack for one engine run, made first (`pulumi stack init`) when it does not exist yet."""
        from helixflow.stacks.tenants.engine import TenantEngineStack, init_stack

        if not self.exists():
            self._share_platform_salt()  # before the workspace: making it can init this very stack
        workspace = self._workspace()
        if not self.exists():
            init_stack(workspace, self.name)  # selects nothing: inits run in parallel
        return TenantEngineStack(self.name, workspace, clock, self.recorded_outputs)

    def exists(self) -> bool:
        """Whether the stack is there: removing a stack leaves its `.json.bak` behind, which does not count."""
        return (self.paths.backend_dir / ".pulumi" / "stacks" / PROJECT / f"{self.name}.json").is_file()

    def recorded_outputs(self) -> dict[str, Any]:
        """The tenant stack's outputs from its latest checkpoint (no engine); secrets stay encrypted."""
        outputs: dict[str, Any] = self._checkpoint_outputs()
        return outputs

    def recorded_spec(self) -> TenantSpec | None:
        spec = self.recorded_outputs().get("spec")
        try:
            return TenantSpec.model_validate(spec) if isinstance(spec, dict) else None
        except ValueError:
            return None

    def deploy(self, spec: TenantSpec, on_event: EventHandler | None = None,
               platform: dict[str, Any] | None = None) -> TenantRun:  # fmt: skip
        """Create or converge the tenant. The API key is returned by the run that made it, and never again.
        `platform`: the platform's outputs when the caller read them already (once per `tenant apply`)."""
        if spec.name != self.tenant:
            raise HelixFlowError(f"spec of {spec.name!r} given to tenant {self.tenant!r}", hint="a bug: report it")
        from helixflow.stacks.tenants.engine import PhaseClock

        clock = PhaseClock(on_event)
        recorded = self.recorded_outputs()
        context = tenant_context(self.platform, spec, platform, recorded)
        had_record = "api_key_prefix" in recorded
        action = "update" if self.exists() else "create"
        self._guard_lock()
        stack = self._engine_stack(clock)
        if context.cluster is not None and spec.model is not None:
            self._ensure_generated(stack, POOL_KEY_CONFIG)
        if context.cluster is not None and not context.admin_api:
            self._ensure_generated(stack, KEY_SEED_CONFIG)
        self._clear_pending(stack)
        keys: list[str] = []
        program = build_tenant_program(spec, context, on_api_key=keys.append)
        clock.mark("engine")
        result = self._run(lambda: stack.up(program=program, on_event=clock, color="never", show_secrets=False))
        clock.mark("done")
        return TenantRun(
            tenant=self.tenant, stack=self.name, action=action, changes=dict(result.summary.resource_changes or {}),
            seconds=time.monotonic() - clock.started, outputs={k: v.value for k, v in result.outputs.items()},
            api_key=keys[-1] if keys and keys[-1] and not had_record else None, phases=clock.phases(),
        )  # fmt: skip

    def destroy(self, on_event: EventHandler | None = None) -> TenantRun:
        """Revoke the tenant's keys and deactivate it (its usage stays), remove its cluster resources, then
        remove its stack. A failed run keeps the stack, so running it again finishes the job."""
        if not self.exists():
            raise HelixFlowError(f"tenant {self.tenant!r} has no stack on platform '{self.platform}'",
                                 hint="`helixflow tenant list` shows the platform's tenants")  # fmt: skip
        from helixflow.stacks.tenants.engine import PhaseClock

        clock = PhaseClock(on_event, program=False)
        self._guard_lock()
        stack = self._engine_stack(clock)
        self._clear_pending(stack)
        self._retire_cluster_record(stack)
        clock.mark("engine")
        result = self._run(lambda: stack.destroy(on_event=clock, color="never"))
        with TenantStack._workspace_lock:
            stack.workspace.remove_stack(self.name)
        clock.mark("done")
        return TenantRun(
            tenant=self.tenant, stack=self.name, action="delete", changes=dict(result.summary.resource_changes or {}),
            seconds=time.monotonic() - clock.started, phases=clock.phases(),
        )  # fmt: skip

    def _share_platform_salt(self) -> None:
        """Give a new tenant stack its platform's encryption salt (`stack init` keeps a salt it finds). The
        engine caches the key it derives per salt (1,000,000 rounds of PBKDF2, ~0.25 s of CPU), so a tenant's
        run then derives it once for its own secrets and the platform's outputs it reads. The passphrase is the
        same for every stack of a home already: sharing the salt gives nobody a key they could not derive."""
        salt = _read_document(StackDriver(self.platform).paths.config_file).get("encryptionsalt")
        document = _read_document(self.paths.config_file)
        if not isinstance(salt, str) or document.get("encryptionsalt"):
            return
        self.paths.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.paths.config_file.write_text(yaml.safe_dump({**document, "encryptionsalt": salt}, sort_keys=True))

    def _retire_cluster_record(self, stack: TenantEngineStack) -> None:
        """A cluster tenant's keys are revoked by a Job in the cluster: one run that starts it (and waits for it)
        before the destroy removes everything. Its usage rows stay."""
        recorded = self.recorded_outputs()
        if recorded.get("record") != RECORD_JOB:
            return
        spec = self.recorded_spec() or TenantSpec(name=self.tenant)
        context = replace(tenant_context(self.platform, spec, recorded=recorded), retire=True)
        program = build_tenant_program(spec, context)
        self._run(lambda: stack.up(program=program, color="never", show_secrets=False))

    def _ensure_generated(self, stack: Any, key: str) -> None:
        """A random secret in the tenant stack's config, made once (`pulumi config set --secret`: cluster only)."""
        from pulumi import automation as auto

        if not self.raw_config().get(f"helixflow:{key}"):
            stack.set_config(f"helixflow:{key}", auto.ConfigValue(value=secrets.token_hex(32), secret=True))

def _read_document(path: Path) -> dict[str, Any]:
    """A stack's settings file as a mapping ({} when absent or unreadable: then nothing is shared)."""
    try:
        document = yaml.safe_load(path.read_text()) if path.is_file() else {}
    except (OSError, yaml.YAMLError):
        return {}
    return document if isinstance(document, dict) else {}
