"""The directory records as plain JSON-able dicts, for the shared (Redis) tier of the credential cache.

Only what the gateway needs to authorise a request: ids, role, limits, whether the key is usable and when it
expires. No secret: a key is named by its SHA-256 digest, and its digest is not in the record either.
"""

from __future__ import annotations

import math
from typing import Any

from helixflow.runtime.common.directory import KeyRecord, UserRecord
from helixflow.runtime.common.principal import Principal, TenantLimits


def _limits(limits: TenantLimits) -> list[int]:
    return [limits.requests_per_minute, limits.tokens_per_minute, limits.monthly_token_budget]


def _limits_from(data: Any) -> TenantLimits:
    rpm, tpm, budget = (int(v) for v in data)
    return TenantLimits(requests_per_minute=rpm, tokens_per_minute=tpm, monthly_token_budget=budget)


class KeyRecordCodec:
    """Raises KeyError, TypeError or ValueError on a malformed dict (the cache then treats it as a miss)."""

    def encode(self, value: KeyRecord) -> dict[str, Any]:
        p = value.principal
        return {"user_id": p.user_id, "tenant_id": p.tenant_id, "role": p.role, "api_key_id": p.api_key_id,
                "tenant_limits": _limits(p.tenant_limits), "key_limits": _limits(p.key_limits),
                "store_content": p.store_content, "usable": value.usable,
                "expires_at": None if math.isinf(value.expires_at) else value.expires_at}

    def decode(self, data: dict[str, Any]) -> KeyRecord:
        principal = Principal(user_id=str(data["user_id"]), tenant_id=str(data["tenant_id"]), role=str(data["role"]),
                              api_key_id=None if data["api_key_id"] is None else str(data["api_key_id"]),
                              tenant_limits=_limits_from(data["tenant_limits"]),
                              key_limits=_limits_from(data["key_limits"]), store_content=bool(data["store_content"]))
        expires_at = data["expires_at"]
        return KeyRecord(principal, None if expires_at is None else float(expires_at), bool(data["usable"]))


class UserRecordCodec:
    """Raises KeyError, TypeError or ValueError on a malformed dict."""

    def encode(self, value: UserRecord) -> dict[str, Any]:
        return {"tenant_id": value.tenant_id, "role": value.role, "active": value.active,
                "tenant_limits": _limits(value.tenant_limits), "store_content": value.store_content}

    def decode(self, data: dict[str, Any]) -> UserRecord:
        return UserRecord(str(data["tenant_id"]), str(data["role"]), bool(data["active"]),
                          _limits_from(data["tenant_limits"]), bool(data["store_content"]))
