"""Who is calling: the result of authenticating an API key or a JWT."""

from __future__ import annotations

from dataclasses import dataclass

from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.security.roles import Permission, allows


@dataclass(frozen=True, slots=True)
class TenantLimits:
    """Effective limits; 0 means unlimited."""

    requests_per_minute: int = 0
    tokens_per_minute: int = 0
    monthly_token_budget: int = 0


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    tenant_id: str
    role: str
    api_key_id: str | None
    tenant_limits: TenantLimits
    key_limits: TenantLimits
    store_content: bool = False

    def require(self, permission: Permission) -> None:
        """Raises ApiError(403) when the role lacks the permission."""
        if not allows(self.role, permission):
            raise ApiError(403, f"role '{self.role}' may not {permission.value.replace('_', ' ')}",
                           code="insufficient_role")

    def require_tenant(self, tenant_id: str) -> None:
        """Raises ApiError(404) for another tenant's resource (admins see every tenant).

        404 rather than 403 so that a caller cannot probe which ids exist elsewhere.
        """
        if self.role != "admin" and tenant_id != self.tenant_id:
            raise ApiError(404, "not found", code="not_found")
