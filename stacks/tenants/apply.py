"""`tenant apply`: run a reconcile plan's engine runs in parallel (each tenant is its own stack, so runs do
not contend for a lock), at most `parallel` at a time; one tenant's failure never stops the others."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.tenants.driver import TenantRun, TenantStack
from helixflow.stacks.tenants.manifest import TenantsFile
from helixflow.stacks.tenants.reconcile import ReconcilePlan, plan_reconcile
from helixflow.stacks.tenants.spec import TenantSpec


@dataclass(frozen=True)
class TenantOutcome:
    tenant: str
    action: str  # create | update | delete
    ok: bool
    seconds: float
    error: str | None = None
    run: TenantRun | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tenant": self.tenant, "action": self.action, "ok": self.ok,
                                "seconds": round(self.seconds, 2)}  # fmt: skip
        if self.error:
            data["error"] = self.error
        if self.run is not None and self.run.api_key:
            data["api_key"] = self.run.api_key
        if self.run is not None and self.run.phases:
            data["phases"] = self.run.phases
        return data


def default_parallel(cpus: int | None = None) -> int:
    """Tenant runs at a time: two per core (a run waits on the engine's RPCs and the admin API about half
    its time), at least 2 and at most 8 (past that the runs only queue for the CPU and for the GIL of the
    CLI process, where every tenant's program runs)."""
    cores = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(2, min(8, 2 * cores))


def current_plan(platform: str, desired: TenantsFile) -> ReconcilePlan:
    from helixflow.stacks.tenants.inventory import tenant_names

    deployed = {name: TenantStack(platform, name).recorded_spec() for name in tenant_names(platform)}
    return plan_reconcile(desired.tenants, deployed)


def _attempt(tenant: str, action: str, run: Callable[[], TenantRun]) -> TenantOutcome:
    started = time.monotonic()
    try:
        result = run()
    except HelixFlowError as err:
        return TenantOutcome(tenant, action, False, time.monotonic() - started, error=str(err))
    except Exception as err:  # one tenant's surprise must not stop the others: it is reported
        return TenantOutcome(tenant, action, False, time.monotonic() - started, error=f"{type(err).__name__}: {err}")
    return TenantOutcome(tenant, action, True, time.monotonic() - started, run=result)


def execute(platform: str, plan: ReconcilePlan, parallel: int,
            on_done: Callable[[TenantOutcome], None] | None = None) -> list[TenantOutcome]:  # fmt: skip
    """Every change of the plan, in parallel; the outcomes in the plan's order."""
    if parallel < 1:
        raise HelixFlowError("--parallel must be at least 1", hint="e.g. --parallel 8")
    jobs: list[tuple[str, str, Callable[[], TenantRun]]] = []
    for spec in (*plan.create, *plan.update):
        action = "create" if spec in plan.create else "update"
        jobs.append((spec.name, action, _deploy(platform, spec)))
    for name in plan.delete:
        jobs.append((name, "delete", TenantStack(platform, name).destroy))

    def one(job: tuple[str, str, Callable[[], TenantRun]]) -> TenantOutcome:
        outcome = _attempt(*job)
        if on_done is not None:
            on_done(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="tenant") as pool:
        return list(pool.map(one, jobs))


def _deploy(platform: str, spec: TenantSpec) -> Callable[[], TenantRun]:
    return lambda: TenantStack(platform, spec.name).deploy(spec)
