"""The OAuth 2.0 token endpoint (RFC 6749: password and client_credentials grants) and the JWKS.

client_credentials: ``client_id`` is an API key's visible prefix and ``client_secret``
the API key itself (in the form or with HTTP Basic). Errors follow RFC 6749 §5.2.

Passwords are checked in the bounded hashing pool (503 ``temporarily_unavailable`` when it is
full), after the attempt is counted per username and per client address (429 ``slow_down``
with Retry-After over either limit); a failed client_credentials attempt counts per address.
The form's size is checked from Content-Length before it is read (``BodyLimit``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from helixflow.runtime.auth.attempts import TooManyAttempts, client_address
from helixflow.runtime.auth.state import AuthState, State
from helixflow.runtime.security.api_keys import digest_api_key, key_prefix
from helixflow.runtime.security.passwords import HashingBusy
from helixflow.runtime.security.tokens import issue_token

router = APIRouter()
MAX_FORM_BYTES = 8192


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="helixflow"'
    return Response(orjson.dumps({"error": error, "error_description": description}), status_code=status,
                    media_type="application/json", headers=headers)


def _slow_down(err: TooManyAttempts) -> Response:
    return Response(orjson.dumps({"error": "slow_down",
                                  "error_description": f"{err}: retry in {err.retry_after} s"}),
                    status_code=429, media_type="application/json",
                    headers={"Cache-Control": "no-store", "Retry-After": str(err.retry_after)})


def _busy() -> Response:
    return Response(orjson.dumps({"error": "temporarily_unavailable",
                                  "error_description": "too many sign-ins at once, retry shortly"}),
                    status_code=503, media_type="application/json",
                    headers={"Cache-Control": "no-store", "Retry-After": "1"})


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


async def _token_response(state: AuthState, *, subject: str, role: str, tenant: str,
                          extra: dict[str, Any] | None = None) -> Response:
    key = await state.keystore.signing_key()
    settings = state.settings
    token = issue_token(key, subject=subject, role=role, tenant=tenant, issuer=settings.jwt_issuer,
                        audience=settings.jwt_audience, ttl_seconds=settings.jwt_ttl_seconds, extra=extra)
    body = {"access_token": token, "token_type": "Bearer", "expires_in": settings.jwt_ttl_seconds}
    return Response(orjson.dumps(body), media_type="application/json",
                    headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _password_grant(state: AuthState, form: dict[str, str], address: str) -> Response:
    username, password = form.get("username", ""), form.get("password", "")
    if not username or not password:
        return _oauth_error(400, "invalid_request", "username and password are required")
    try:
        attempt = await state.attempts.begin(address, username)
    except TooManyAttempts as err:
        return _slow_down(err)
    row = await state.db.fetchrow(
        "SELECT u.id, u.password_hash, u.role, u.tenant_id, u.is_active AND t.is_active AS active "
        "FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.username = $1", username)
    try:
        ok = await state.passwords.verify(row["password_hash"] if row else None, password)
    except HashingBusy:
        return _busy()
    if not ok or row is None or not row["active"]:
        return _oauth_error(400, "invalid_grant", "invalid username or password")
    await state.attempts.succeeded(attempt)
    await state.db.execute("UPDATE users SET last_login = now() WHERE id = $1", row["id"])
    return await _token_response(state, subject=str(row["id"]), role=row["role"], tenant=str(row["tenant_id"]))


async def _client_credentials_grant(state: AuthState, form: dict[str, str], authorization: str | None,
                                    address: str) -> Response:
    basic = _basic_credentials(authorization)
    client_id, secret = basic if basic else (form.get("client_id", ""), form.get("client_secret", ""))
    if not client_id or not secret:
        return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
    try:
        attempt = await state.attempts.begin(address)
    except TooManyAttempts as err:
        return _slow_down(err)
    record = await state.authenticator.directory.key_by_digest(digest_api_key(secret))
    # The prefix must match too, compared in constant time.
    if record is None or not record.is_valid_now() or not hmac.compare_digest(
        key_prefix(secret).encode(), client_id.encode()
    ):
        return _oauth_error(401, "invalid_client", "invalid client credentials")
    await state.attempts.succeeded(attempt)
    principal = record.principal
    return await _token_response(state, subject=principal.user_id, role=principal.role, tenant=principal.tenant_id,
                                 extra={"key": principal.api_key_id})


@router.post("/oauth/token", tags=["oauth"], summary="Issue an access token (password or client_credentials)")
async def token(request: Request, state: State) -> Response:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(400, "invalid_request", "send the form as application/x-www-form-urlencoded")
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return _oauth_error(400, "invalid_request", "form too large")
    try:
        parsed = parse_qs(raw.decode(), strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return _oauth_error(400, "invalid_request", "malformed form")
    form = {k: v[0] for k, v in parsed.items()}
    grant = form.get("grant_type")
    address = client_address(request.client.host if request.client else None,
                             request.headers.get("x-forwarded-for"), state.trusted_proxies)
    if grant == "password":
        return await _password_grant(state, form, address)
    if grant == "client_credentials":
        return await _client_credentials_grant(state, form, request.headers.get("authorization"), address)
    return _oauth_error(400, "unsupported_grant_type", "grant_type must be password or client_credentials")


@router.get("/.well-known/jwks.json", tags=["oauth"], summary="Public keys that verify issued tokens")
async def jwks(state: State) -> Response:
    keys = await state.keystore.jwks()
    return Response(orjson.dumps({"keys": keys}), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=60"})
