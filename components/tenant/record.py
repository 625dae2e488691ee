"""A tenant's record in the runtime, through the admin API: the tenant with its quotas, an operator user,
and its first API key (an output, secret, handed back once).

Deleting the record revokes the tenant's keys and deactivates it (the gateway refuses them within a
second, through the runtime's Redis epoch); its usage rows stay, so its usage can still be reported.
Creating a tenant whose name the runtime already has adopts it when it was deleted before, or when a run was
cut short after creating it (its only keys are tenant-stack keys, whose plaintext was lost: they are revoked);
it refuses otherwise, so a tenant made outside tenant stacks stays untouched.

The provider is pickled by reference: this module's path and class names must not change.
"""

from __future__ import annotations

import secrets
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from helixflow.components.tenant.admin_client import AdminApiError, AdminClient

LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "monthly_token_budget")
CONNECTION_FIELDS = ("admin_url", "ca_file", "admin_api_key")
KEY_NAME = "tenant-stack"
OUTPUT_FIELDS = ("tenant_id", "user_id", "api_key_id", "key_prefix", "api_key")


def _client(props: dict[str, Any]) -> AdminClient:
    return AdminClient(props["admin_url"], props["admin_api_key"], props.get("ca_file") or None)


def _limits(props: dict[str, Any]) -> dict[str, Any]:
    return {field: props.get(field) for field in LIMIT_FIELDS}


def _operator_username(tenant: str) -> str:
    return f"{tenant}-operator"


def _create_or_adopt(api: AdminClient, name: str, limits: dict[str, Any]) -> dict[str, Any]:
    try:
        created: dict[str, Any] = api.call("POST", "/admin/tenants", json={"name": name, **limits})
        return created
    except AdminApiError as err:
        if err.status != 409:
            raise
    existing = api.find_tenant(name)
    if existing is None:  # deleted between the two calls: a rerun creates it
        raise AdminApiError(f"tenant {name!r} vanished while it was being created; run again")
    live_keys = [k for k in api.keys(existing["id"]) if k.get("revoked_at") is None]
    foreign = [k for k in live_keys if k.get("name") != KEY_NAME]
    if existing["is_active"] and foreign:
        raise AdminApiError(
            f"tenant {name!r} already exists in the runtime with {len(foreign)} active key(s), made outside "
            "tenant stacks: left untouched; choose another name"
        )
    for key in live_keys:  # keys of a run cut short before its state was saved: their plaintext is lost
        api.call("DELETE", f"/admin/keys/{key['id']}")
    adopted: dict[str, Any] = api.call("PATCH", f"/admin/tenants/{existing['id']}", json={**limits, "is_active": True})
    return adopted


def _operator(api: AdminClient, tenant_id: str, tenant: str) -> dict[str, Any]:
    username = _operator_username(tenant)
    found = next((u for u in api.users(tenant_id) if u["username"] == username), None)
    if found is not None:
        if not found["is_active"]:
            api.call("PATCH", f"/admin/users/{found['id']}", json={"is_active": True})
        return found
    # The key is the tenant's credential: the password is never shown, only there because a user needs one.
    user: dict[str, Any] = api.call("POST", "/admin/users", json={
        "tenant_id": tenant_id, "username": username, "email": f"{username}@tenants.helixflow.invalid",
        "password": secrets.token_urlsafe(24), "role": "operator",
    })  # fmt: skip
    return user


class TenantRecordProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        with _client(props) as api:
            tenant = _create_or_adopt(api, props["name"], _limits(props))
            user = _operator(api, tenant["id"], props["name"])
            key = api.call("POST", "/admin/keys", json={"user_id": user["id"], "name": KEY_NAME, "role": "operator"})
        outs = {**props, "tenant_id": tenant["id"], "user_id": user["id"], "api_key_id": key["id"],
                "key_prefix": key["prefix"], "api_key": key["api_key"]}  # fmt: skip
        return CreateResult(id_=str(tenant["id"]), outs=outs)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [f for f in ("name", *LIMIT_FIELDS, *CONNECTION_FIELDS) if olds.get(f) != news.get(f)]
        return DiffResult(changes=bool(changed), replaces=["name"] if "name" in changed else [],
                          delete_before_replace=True)  # fmt: skip

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if _limits(olds) != _limits(news):
            with _client(news) as api:
                api.call("PATCH", f"/admin/tenants/{id_}", json=_limits(news))  # the epoch bump applies it at once
        return UpdateResult(outs={**news, **{f: olds.get(f) for f in OUTPUT_FIELDS}})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_=id_, outs=props)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with _client(props) as api:
            if api.tenant(id_) is None:
                return  # already gone: nothing to revoke
            for key in api.keys(id_):
                if key.get("revoked_at") is None:
                    api.call("DELETE", f"/admin/keys/{key['id']}")
            api.call("PATCH", f"/admin/tenants/{id_}", json={"is_active": False})


class TenantRecord(Resource):
    """The tenant in the runtime's database. Raises (in the engine) AdminApiError naming the refused call."""

    tenant_id: pulumi.Output[str]
    api_key: pulumi.Output[str]
    api_key_id: pulumi.Output[str]
    key_prefix: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        tenant: str,
        admin_url: pulumi.Input[str],
        admin_api_key: pulumi.Input[str],
        ca_file: pulumi.Input[str],
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        monthly_token_budget: int | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": tenant, "admin_url": admin_url, "admin_api_key": pulumi.Output.secret(admin_api_key),
            "ca_file": ca_file, "requests_per_minute": requests_per_minute, "tokens_per_minute": tokens_per_minute,
            "monthly_token_budget": monthly_token_budget, **dict.fromkeys(OUTPUT_FIELDS),
        }  # fmt: skip
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["admin_api_key", "api_key"])
        )
        super().__init__(TenantRecordProvider(), name, props, opts)
