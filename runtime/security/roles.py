"""Roles and what each may do. ``admin`` is platform-wide; the other roles act inside their tenant."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    user = "user"
    viewer = "viewer"


class Permission(StrEnum):
    inference = "inference"
    read_usage = "read_usage"
    manage_keys = "manage_keys"
    manage_users = "manage_users"
    manage_tenants = "manage_tenants"
    manage_signing_keys = "manage_signing_keys"
    manage_prices = "manage_prices"


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.operator: frozenset({Permission.inference, Permission.read_usage, Permission.manage_keys,
                              Permission.manage_users}),
    Role.user: frozenset({Permission.inference}),
    Role.viewer: frozenset({Permission.read_usage}),
}

# A role may hand out only roles at or below its own rank.
RANK: dict[Role, int] = {Role.viewer: 0, Role.user: 1, Role.operator: 2, Role.admin: 3}


def allows(role: str, permission: Permission) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def may_grant(granter: str, granted: str) -> bool:
    try:
        return RANK[Role(granter)] >= RANK[Role(granted)]
    except ValueError:
        return False
