"""What `tenant list` and `tenant show` report: the platform's tenant stacks (read from the backend, no
engine), and for `show` the tenant's row and usage from the runtime's admin API (kept after a delete)."""

from __future__ import annotations

from typing import Any

from helixflow.stacks.driver import StackDriver, validate_stack_name
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import PROJECT, StackPaths
from helixflow.stacks.tenants.driver import TenantStack
from helixflow.stacks.tenants.spec import tenant_of_stack, validate_tenant_name


def tenant_names(platform: str) -> list[str]:
    """The tenants that have a stack on this platform, sorted."""
    validate_stack_name(platform)
    states = StackPaths.for_stack(platform).backend_dir / ".pulumi" / "stacks" / PROJECT
    if not states.exists():
        return []
    found = {tenant_of_stack(platform, p.name.removesuffix(".json")) for p in states.glob(f"{platform}.tenant.*.json")}
    return sorted(name for name in found if name)


def summary(stack: TenantStack) -> dict[str, Any]:
    outputs = stack.recorded_outputs()
    spec = stack.recorded_spec()
    return {
        "tenant": stack.tenant, "stack": stack.name, "platform": stack.platform,
        "plan": spec.plan if spec else None, "limits": outputs.get("limits"),
        "gpus": spec.gpus if spec else 0, "model": spec.model if spec else None,
        "tenant_id": outputs.get("tenant_id"), "namespace": outputs.get("namespace"),
        "state": "deployed" if outputs.get("spec") else "incomplete",  # a first run that failed
    }  # fmt: skip


def list_tenants(platform: str) -> list[dict[str, Any]]:
    return [summary(TenantStack(platform, name)) for name in tenant_names(platform)]


def _admin(platform: str) -> Any:
    """An admin API client for the platform, or None when it exports none (a cluster without an endpoint)."""
    from helixflow.components.tenant.admin_client import AdminClient

    outputs = StackDriver(platform).deployed().outputs
    if not outputs.get("endpoint") or not outputs.get("admin_api_key"):
        return None
    return AdminClient(str(outputs["endpoint"]), str(outputs["admin_api_key"]), outputs.get("ca_file") or None)


def show_tenant(platform: str, tenant: str) -> dict[str, Any]:
    """The tenant's stack (if any), its runtime record and this month's usage. Raises HelixFlowError when
    neither the platform's tenant stacks nor its runtime know the tenant."""
    from helixflow.components.tenant.admin_client import AdminApiError

    validate_tenant_name(tenant)
    stack = TenantStack(platform, tenant)
    gone = {"tenant": tenant, "stack": None, "platform": platform, "state": "deleted"}
    report: dict[str, Any] = summary(stack) if stack.exists() else gone
    admin = _admin(platform)
    if admin is not None:
        try:
            with admin:
                row = admin.find_tenant(tenant)
                if row is not None:
                    report["runtime"] = {
                        k: row.get(k)
                        for k in ("id", "is_active", "requests_per_minute", "tokens_per_minute", "monthly_token_budget")
                    }
                    report["usage"] = admin.usage(str(row["id"]))
        except AdminApiError as err:
            raise HelixFlowError(
                f"the platform's admin API failed: {err}",
                hint=f"check the platform with `helixflow status -s {platform}`",
            ) from None
        if row is None and not stack.exists():
            raise HelixFlowError(f"no tenant {tenant!r} on platform '{platform}'",
                                 hint="`helixflow tenant list` shows its tenants")  # fmt: skip
    elif not stack.exists():
        raise HelixFlowError(f"no tenant {tenant!r} on platform '{platform}'", hint="`helixflow tenant list`")
    return report
