"""What `tenant apply` must do to make the deployed tenants match a desired list."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from helixflow.stacks.tenants.spec import TenantSpec


@dataclass(frozen=True)
class ReconcilePlan:
    create: tuple[TenantSpec, ...]
    update: tuple[TenantSpec, ...]  # desired specs that differ from what is deployed
    delete: tuple[str, ...]  # deployed tenants the list no longer names
    unchanged: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def plan_reconcile(desired: Iterable[TenantSpec], deployed: Mapping[str, TenantSpec | None]) -> ReconcilePlan:
    """deployed: each existing tenant's spec as its stack recorded it (None when unknown: a failed first
    run, so it is updated to the desired spec rather than assumed right)."""
    wanted = {spec.name: spec for spec in desired}
    create = tuple(spec for name, spec in sorted(wanted.items()) if name not in deployed)
    update = tuple(spec for name, spec in sorted(wanted.items()) if name in deployed and deployed[name] != spec)
    unchanged = tuple(name for name, spec in sorted(wanted.items()) if name in deployed and deployed[name] == spec)
    delete = tuple(sorted(name for name in deployed if name not in wanted))
    return ReconcilePlan(create=create, update=update, delete=delete, unchanged=unchanged)
