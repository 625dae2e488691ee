"""Security: credentials that must be refused, tenant isolation, response headers, no secret echoed.
TLS checks live in tls.py."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import Outcome, failed, passed, skipped
from helixflow.stacks.validate.registry import check

REVOCATION_WAIT = 5.0  # the runtime applies a revocation everywhere within a second


def _status(ctx: Context, key: str | None, **headers: str) -> int:
    return ctx.call("GET", "/v1/models", key=key, headers=headers).status_code


@check("no-key", "security", critical=True, description="A request without credentials answers 401")
def no_key(ctx: Context) -> Outcome:
    code = _status(ctx, None)
    return passed("401") if code == 401 else failed(f"answered {code} without credentials", value=str(code))


@check(
    "bad-key",
    "security",
    critical=True,
    description="A well-formed but unknown API key, and a garbage token, answer 401",
)
def bad_key(ctx: Context) -> Outcome:
    codes = [_status(ctx, f"hf_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"), _status(ctx, "not-a-key")]
    if codes != [401, 401]:
        return failed(f"answered {codes} (unknown key, garbage), expected 401 for both", value=str(codes))
    return passed("401, 401")


@check(
    "revoked-key",
    "security",
    critical=True,
    description="A key created through the admin API works, and answers 401 once revoked",
)
def revoked_key(ctx: Context) -> Outcome:
    key = ctx.new_key(name="helixflow-validate-revoked")
    before = _status(ctx, key["api_key"])
    if before != 200:
        return failed(f"a fresh key answered {before} before it was revoked")
    ctx.admin_json("DELETE", f"/admin/keys/{key['id']}")
    started = time.monotonic()
    while time.monotonic() - started < min(REVOCATION_WAIT, ctx.remaining()):
        code = _status(ctx, key["api_key"])
        if code == 401:
            return passed(f"401 after {time.monotonic() - started:.1f}s")
        time.sleep(0.2)
    return failed(f"the revoked key still answered {code} after {REVOCATION_WAIT:g}s")


@check(
    "expired-key",
    "security",
    critical=True,
    description="A key whose expiry has passed answers 401 (expiry set in the database: local stacks)",
)
def expired_key(ctx: Context) -> Outcome:
    if not ctx.deployment.database_url:
        return skipped("the admin API cannot create an already expired key; needs the stack's database (local)")
    key = ctx.new_key(name="helixflow-validate-expired")
    import psycopg

    # before the key's first use, so no gateway holds it in its cache. A stack hands validation a
    # read-only database URL; this one write, to the key the check just made, opts out of it.
    with psycopg.connect(ctx.deployment.database_url, connect_timeout=5) as conn:
        conn.execute("SET TRANSACTION READ WRITE")
        conn.execute("UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = %s", (key["id"],))
    code = _status(ctx, key["api_key"])
    return passed("401") if code == 401 else failed(f"an expired key answered {code}", value=str(code))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@check(
    "jwt-alg-none",
    "security",
    critical=True,
    description="An unsigned JWT (alg: none) claiming the admin's identity answers 401",
)
def jwt_alg_none(ctx: Context) -> Outcome:
    claims: dict[str, Any] = {
        "sub": "00000000-0000-0000-0000-000000000000",
        "role": "admin",
        "tenant": "00000000-0000-0000-0000-000000000000",
    }
    if ctx.deployment.admin_url:
        me = ctx.me()
        claims.update(sub=me["user_id"], tenant=me["tenant_id"], role=me["role"])
    now = int(time.time())
    claims.update(iss="helixflow-auth", aud="helixflow-api", iat=now, nbf=now, exp=now + 600)
    codes = []
    for header in ({"alg": "none", "typ": "JWT"}, {"alg": "none", "typ": "JWT", "kid": "validate"}):
        codes.append(_status(ctx, f"{_b64(header)}.{_b64(claims)}."))
    if codes != [401, 401]:
        return failed(f"unsigned tokens answered {codes}, expected 401", value=str(codes))
    return passed("401, 401")


@check(
    "cross-tenant",
    "security",
    critical=True,
    description="Another tenant's key cannot read or change this tenant's tenant record, keys, usage "
    "(403, or 404 that does not reveal the resource)",
)
def cross_tenant(ctx: Context) -> Outcome:
    me = ctx.me()
    if me.get("role") != "admin":
        return skipped("needs an admin key to create a second tenant")
    victim = ctx.new_key(name="helixflow-validate-victim")
    other = ctx.throwaway_tenant("other")["key"]["api_key"]
    tenant_id = me["tenant_id"]
    probes = [
        ("GET", f"/admin/tenants/{tenant_id}"),
        ("GET", f"/admin/keys?tenant_id={tenant_id}"),
        ("GET", f"/admin/usage?tenant_id={tenant_id}"),
        ("DELETE", f"/admin/keys/{victim['id']}"),
    ]
    codes = []
    for method, path in probes:
        response = ctx.admin(method, path, key=other)
        codes.append(response.status_code)
        if response.status_code not in (403, 404) or tenant_id in response.text or victim["id"] in response.text:
            return failed(
                f"{method} {path.split('?')[0]} with another tenant's key answered "
                f"{response.status_code}: {response.text[:120]}",
                value=str(codes),
            )
    if _status(ctx, victim["api_key"]) != 200:
        return failed("the other tenant's DELETE revoked this tenant's key")
    return passed(f"{len(probes)}/{len(probes)} denied ({', '.join(map(str, sorted(set(codes))))})")


REQUIRED_HEADERS = ("strict-transport-security", "x-content-type-options")


@check(
    "security-headers",
    "security",
    critical=False,
    description="Responses carry Strict-Transport-Security, X-Content-Type-Options: nosniff and "
    "X-Frame-Options or a CSP frame-ancestors",
)
def security_headers(ctx: Context) -> Outcome:
    headers = ctx.call("GET", "/v1/models").headers
    missing = [h for h in REQUIRED_HEADERS if h not in headers]
    if headers.get("x-content-type-options", "nosniff").lower() != "nosniff":
        missing.append("x-content-type-options: nosniff")
    if "x-frame-options" not in headers and "frame-ancestors" not in headers.get("content-security-policy", ""):
        missing.append("x-frame-options (or CSP frame-ancestors)")
    if missing:
        return failed(f"missing: {', '.join(missing)}")
    return passed(f"{len(REQUIRED_HEADERS) + 1} present")


@check(
    "no-secret-echo",
    "security",
    critical=True,
    description="No response of this run (headers or body) contains an API key, password or other secret",
    last=True,
)
def no_secret_echo(ctx: Context) -> Outcome:
    key = ctx.deployment.api_key
    # requests whose error answers are the likeliest to quote the credential they were given
    ctx.call("GET", "/v1/models", key=None, headers={"Authorization": f"Basic {key}"})
    ctx.call("GET", "/v1/models", key=f"{key}x")
    ctx.call("GET", "/v1/models", key=None, headers={"Authorization": key})
    ctx.call("POST", "/v1/chat/completions", key=f"{key[:-1]}", json={"model": "x"})
    found = []
    for secret in [*ctx.deployment.secrets(), *ctx.extra_secrets]:
        if len(secret) < 8:
            continue
        for recorded in ctx.responses:
            # the admin API returns a new key's plaintext once, by design, to its creator
            if secret in recorded.text and not (recorded.what == "POST /admin/keys" and recorded.status == 201):
                found.append(f"{recorded.what} ({recorded.status})")
    if found:
        return failed(f"a secret appears in the response to {', '.join(sorted(set(found)))}")
    return passed(f"{len(ctx.responses)} responses clean")
