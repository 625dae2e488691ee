"""The auth service: OAuth 2.0 grants, JWKS, key rotation, and the admin API's role and tenant rules."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import jwt

from tests.runtime.helpers import admin_post, bearer, new_tenant, unique, within
from tests.support.services import Service


def token(auth: Service, **form: str) -> httpx.Response:
    return httpx.post(auth.url + "/oauth/token", data=form)


def test_password_grant_issues_an_eddsa_jwt_with_the_required_claims(auth_service: Service,
                                                                      bootstrap: dict[str, str]) -> None:
    response = token(auth_service, grant_type="password", username="root", password="root-password")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"exp", "iat", "iss", "aud", "sub", "role", "tenant"} <= set(claims)
    assert claims["sub"] == bootstrap["user_id"] and claims["tenant"] == bootstrap["tenant_id"]
    assert claims["role"] == "admin"
    me = httpx.get(auth_service.url + "/admin/me", headers=bearer(body["access_token"]))
    assert me.json()["user_id"] == bootstrap["user_id"]


def test_password_grant_refuses_a_wrong_password_and_an_unknown_user(auth_service: Service) -> None:
    wrong = token(auth_service, grant_type="password", username="root", password="not-the-password")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    ghost = token(auth_service, grant_type="password", username="nobody", password="whatever-123")
    assert ghost.status_code == 400 and ghost.json()["error"] == "invalid_grant"


def test_client_credentials_grant_with_form_and_basic_auth(auth_service: Service, bootstrap: dict[str, str]) -> None:
    key, prefix = bootstrap["api_key"], bootstrap["key_prefix"]
    form = token(auth_service, grant_type="client_credentials", client_id=prefix, client_secret=key)
    assert form.status_code == 200, form.text
    claims = jwt.decode(form.json()["access_token"], options={"verify_signature": False})
    assert claims["key"] == bootstrap["api_key_id"]
    basic = base64.b64encode(f"{prefix}:{key}".encode()).decode()
    via_basic = httpx.post(auth_service.url + "/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {basic}"})
    assert via_basic.status_code == 200
    wrong = token(auth_service, grant_type="client_credentials", client_id=prefix, client_secret=key + "x")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    mismatched = token(auth_service, grant_type="client_credentials", client_id="hf_other", client_secret=key)
    assert mismatched.status_code == 401


def test_token_endpoint_rejects_bad_requests_cleanly(auth_service: Service) -> None:
    assert token(auth_service, grant_type="implicit").json()["error"] == "unsupported_grant_type"
    as_json = httpx.post(auth_service.url + "/oauth/token", json={"grant_type": "password"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


def test_jwks_publishes_ed25519_keys_and_rotation_keeps_old_tokens_valid(auth_service: Service,
                                                                         admin_key: str) -> None:
    old = token(auth_service, grant_type="password", username="root", password="root-password").json()
    rotated = admin_post(auth_service.url, admin_key, "/admin/signing-keys/rotate", {})
    keys = httpx.get(auth_service.url + "/.well-known/jwks.json").json()["keys"]
    kids = {k["kid"] for k in keys}
    assert rotated["kid"] in kids and jwt.get_unverified_header(old["access_token"])["kid"] in kids
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in keys)
    issued: list[dict[str, Any]] = []

    def signed_with_the_new_key() -> bool:  # the auth service caches its signing key for 5 s
        issued.append(token(auth_service, grant_type="password", username="root", password="root-password").json())
        return bool(jwt.get_unverified_header(issued[-1]["access_token"])["kid"] == rotated["kid"])

    within(6.0, signed_with_the_new_key, "signing with the rotated key", interval=0.5)
    new = issued[-1]
    for access in (old["access_token"], new["access_token"]):
        assert httpx.get(auth_service.url + "/admin/me", headers=bearer(access)).status_code == 200


def test_roles_are_enforced_per_route(auth_service: Service, admin_key: str) -> None:
    url = auth_service.url
    people = new_tenant(url, admin_key)
    operator, user, viewer = people["operator"]["key"], people["user"]["key"], people["viewer"]["key"]
    # Only admins manage tenants.
    for key in (operator, user, viewer):
        r = httpx.post(url + "/admin/tenants", json={"name": unique("x")}, headers=bearer(key))
        assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_role"
    # Operators manage their tenant's users and keys, but cannot mint admins.
    name = unique("u")
    created = httpx.post(url + "/admin/users", json={"username": name, "email": f"{name}@x.test",
                                                     "password": "password-123", "role": "user"},
                         headers=bearer(operator))
    assert created.status_code == 201, created.text
    assert created.json()["tenant_id"] == people["tenant"]["id"]
    escalate = httpx.post(url + "/admin/users", json={"username": unique("a"), "email": f"{unique('a')}@x.test",
                                                      "password": "password-123", "role": "admin"},
                          headers=bearer(operator))
    assert escalate.status_code == 403
    key_for_user = httpx.post(url + "/admin/keys", json={"user_id": created.json()["id"]}, headers=bearer(operator))
    assert key_for_user.status_code == 201 and key_for_user.json()["api_key"].startswith("hf_")
    assert "key_hash" not in key_for_user.json()
    # Users cannot manage users or read usage; viewers read usage.
    assert httpx.get(url + "/admin/users", headers=bearer(user)).status_code == 403
    assert httpx.get(url + "/admin/usage", headers=bearer(user)).status_code == 403
    assert httpx.get(url + "/admin/usage", headers=bearer(viewer)).status_code == 200
    # A user may not give its own key a higher role.
    assert httpx.post(url + "/admin/keys", json={"role": "operator"}, headers=bearer(user)).status_code == 403
    listed = httpx.get(url + "/admin/keys", headers=bearer(operator)).json()
    assert all("key_hash" not in k and k["prefix"].startswith("hf_") for k in listed)


def test_another_tenants_resources_are_invisible(auth_service: Service, admin_key: str) -> None:
    url = auth_service.url
    a, b = new_tenant(url, admin_key), new_tenant(url, admin_key)
    operator_a = a["operator"]["key"]
    assert httpx.get(url + f"/admin/tenants/{b['tenant']['id']}", headers=bearer(operator_a)).status_code == 404
    assert httpx.get(url + f"/admin/usage?tenant_id={b['tenant']['id']}", headers=bearer(operator_a)).status_code == 404
    assert httpx.get(url + f"/admin/keys?tenant_id={b['tenant']['id']}", headers=bearer(operator_a)).status_code == 404
    assert httpx.delete(url + f"/admin/keys/{b['user']['key_id']}", headers=bearer(operator_a)).status_code == 404
    assert httpx.post(url + "/admin/users", headers=bearer(operator_a),
                      json={"tenant_id": b["tenant"]["id"], "username": unique("u"), "email": "z@x.test",
                            "password": "password-123"}).status_code == 404
    tenants = httpx.get(url + "/admin/tenants", headers=bearer(operator_a)).json()
    assert [t["id"] for t in tenants] == [a["tenant"]["id"]]
    # And an admin sees both.
    assert httpx.get(url + f"/admin/tenants/{b['tenant']['id']}", headers=bearer(admin_key)).status_code == 200


def test_admin_api_validation_errors_are_openai_shaped_400s(auth_service: Service, admin_key: str) -> None:
    r = httpx.post(auth_service.url + "/admin/tenants", json={"name": ""}, headers=bearer(admin_key))
    assert r.status_code == 400 and r.json()["error"]["param"] == "name"
    r = httpx.post(auth_service.url + "/admin/users", headers=bearer(admin_key),
                   json={"username": unique("u"), "email": "bad", "password": "password-123"})
    assert r.status_code == 400
    dup = httpx.post(auth_service.url + "/admin/tenants", json={"name": "acme"}, headers=bearer(admin_key))
    assert dup.status_code == 409
    assert httpx.get(auth_service.url + "/admin/tenants/not-a-uuid", headers=bearer(admin_key)).status_code == 404
