"""Every way of presenting a bad credential to the gateway is refused with a 401 (or 403/404 by role/tenant)."""

from __future__ import annotations

import base64
import json
from functools import partial

import httpx
import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from helixflow.runtime.security.api_keys import key_prefix
from helixflow.runtime.security.tokens import SigningKey, decrypt_private_key, issue_token
from helixflow.runtime.settings import DEVELOPMENT_SECRET
from tests.runtime.helpers import answered, assert_openai_error, bearer, chat, chat_body, new_tenant, within
from tests.support.postgres import PostgresServer
from tests.support.services import Service

ISSUER, AUDIENCE = "helixflow-auth", "helixflow-api"


@pytest.fixture(scope="module")
def real_key(postgres: PostgresServer, gateway: Service) -> SigningKey:
    with psycopg.connect(postgres.url) as db:
        row = db.execute("SELECT kid, private_key_encrypted FROM signing_keys WHERE retired_at IS NULL "
                         "ORDER BY created_at DESC LIMIT 1").fetchone()
    assert row is not None
    return decrypt_private_key(row[0], row[1], DEVELOPMENT_SECRET)


def forge(key: SigningKey, bootstrap: dict[str, str], **overrides: object) -> str:
    claims = {"subject": bootstrap["user_id"], "role": "admin", "tenant": bootstrap["tenant_id"], "issuer": ISSUER,
              "audience": AUDIENCE, "ttl_seconds": 300}
    claims.update(overrides)
    return issue_token(key, **claims)  # type: ignore[arg-type]


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def post(gateway: Service, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.post(gateway.url + "/v1/chat/completions", json=chat_body(), headers=headers)


def test_a_valid_jwt_is_accepted(gateway: Service, real_key: SigningKey, bootstrap: dict[str, str]) -> None:
    assert post(gateway, f"Bearer {forge(real_key, bootstrap)}").status_code == 200


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-token",
                                           "Bearer a.b.c", "Bearer hf_unknown0_secretsecretsecret"])
def test_missing_or_malformed_credentials(gateway: Service, authorization: str | None) -> None:
    response = post(gateway, authorization)
    assert_openai_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_alg_none_is_refused(gateway: Service, real_key: SigningKey, bootstrap: dict[str, str]) -> None:
    claims = jwt.decode(forge(real_key, bootstrap), options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': real_key.kid})}.{b64(claims)}."
    assert_openai_error(post(gateway, f"Bearer {unsigned}"), 401)


def test_hs256_signed_with_the_public_key_is_refused(gateway: Service, real_key: SigningKey,
                                                     bootstrap: dict[str, str]) -> None:
    claims = jwt.decode(forge(real_key, bootstrap), options={"verify_signature": False})
    public = real_key.public_jwk["x"].encode()
    header = {"alg": "HS256", "kid": real_key.kid}
    signing_input = f"{b64(header)}.{b64(claims)}".encode()
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(public, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    assert_openai_error(post(gateway, f"Bearer {signing_input.decode()}.{signature.decode()}"), 401)


def test_expired_token_is_refused(gateway: Service, real_key: SigningKey, bootstrap: dict[str, str]) -> None:
    expired = forge(real_key, bootstrap, ttl_seconds=-60)
    assert "expired" in assert_openai_error(post(gateway, f"Bearer {expired}"), 401)["message"]


@pytest.mark.parametrize("field", ["audience", "issuer"])
def test_wrong_audience_or_issuer_is_refused(gateway: Service, real_key: SigningKey, bootstrap: dict[str, str],
                                             field: str) -> None:
    assert_openai_error(post(gateway, f"Bearer {forge(real_key, bootstrap, **{field: 'someone-else'})}"), 401)


def test_tampered_signature_and_claims_are_refused(gateway: Service, real_key: SigningKey,
                                                   bootstrap: dict[str, str]) -> None:
    token = forge(real_key, bootstrap)
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_openai_error(post(gateway, f"Bearer {head}.{payload}.{flipped}"), 401)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["role"] = "admin"
    claims["tenant"] = "00000000-0000-0000-0000-000000000000"
    assert_openai_error(post(gateway, f"Bearer {head}.{b64(claims)}.{signature}"), 401)


def test_a_token_signed_by_an_unknown_key_is_refused(gateway: Service, bootstrap: dict[str, str]) -> None:
    rogue = SigningKey(kid="rogue", private_key=Ed25519PrivateKey.generate())
    assert_openai_error(post(gateway, f"Bearer {forge(rogue, bootstrap)}"), 401)
    same_kid = SigningKey(kid=jwt.get_unverified_header(forge(rogue, bootstrap))["kid"],
                          private_key=Ed25519PrivateKey.generate())
    assert_openai_error(post(gateway, f"Bearer {forge(same_kid, bootstrap)}"), 401)


def test_revoked_key_is_refused_by_every_worker_within_a_second(gateway: Service, auth_service: Service,
                                                               admin_key: str) -> None:
    people = new_tenant(auth_service.url, admin_key)
    key, key_id = people["user"]["key"], people["user"]["key_id"]
    for _ in range(8):  # warm the key cache of both worker processes
        assert chat(gateway.url, key).status_code == 200
    revoked = httpx.delete(auth_service.url + f"/admin/keys/{key_id}", headers=bearer(admin_key))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    within(1.0, answered(lambda: chat(gateway.url, key), 401), "refused by every worker")
    assert_openai_error(chat(gateway.url, key), 401)


def test_expired_api_key_is_refused(gateway: Service, postgres: PostgresServer, auth_service: Service,
                                    admin_key: str) -> None:
    people = new_tenant(auth_service.url, admin_key)
    with psycopg.connect(postgres.url) as db:
        db.execute("UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = %s",
                   (people["user"]["key_id"],))
    assert_openai_error(chat(gateway.url, people["user"]["key"]), 401)


def test_a_viewer_may_not_run_inference(gateway: Service, auth_service: Service, admin_key: str) -> None:
    people = new_tenant(auth_service.url, admin_key)
    assert_openai_error(chat(gateway.url, people["viewer"]["key"]), 403)
    assert chat(gateway.url, people["operator"]["key"]).status_code == 200


def test_disabled_tenant_is_refused(gateway: Service, auth_service: Service, admin_key: str) -> None:
    people = new_tenant(auth_service.url, admin_key)
    assert chat(gateway.url, people["user"]["key"]).status_code == 200
    r = httpx.patch(auth_service.url + f"/admin/tenants/{people['tenant']['id']}", json={"is_active": False},
                    headers=bearer(admin_key))
    assert r.status_code == 200
    within(1.0, answered(lambda: chat(gateway.url, people["user"]["key"]), 401), "refused by every worker")
    assert_openai_error(chat(gateway.url, people["user"]["key"]), 401)


def test_a_token_issued_for_a_revoked_key_is_refused_within_a_second(gateway: Service, auth_service: Service,
                                                                    admin_key: str) -> None:
    people = new_tenant(auth_service.url, admin_key)
    key, key_id = people["user"]["key"], people["user"]["key_id"]
    issued = httpx.post(auth_service.url + "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": key_prefix(key), "client_secret": key})
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    for _ in range(8):  # both workers verify and cache the token
        assert chat(gateway.url, token).status_code == 200
    revoked = httpx.delete(auth_service.url + f"/admin/keys/{key_id}", headers=bearer(admin_key))
    assert revoked.status_code == 200
    within(1.0, answered(lambda: chat(gateway.url, token), 401), "refused by every worker")
    assert_openai_error(chat(gateway.url, token), 401)


def test_a_deactivated_users_tokens_are_refused_within_a_second(gateway: Service, auth_service: Service,
                                                               admin_key: str) -> None:
    people = new_tenant(auth_service.url, admin_key)
    user = people["user"]
    by_password = httpx.post(auth_service.url + "/oauth/token", data={
        "grant_type": "password", "username": user["username"], "password": "password-123"})
    by_key = httpx.post(auth_service.url + "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": key_prefix(user["key"]), "client_secret": user["key"]})
    assert by_password.status_code == 200 and by_key.status_code == 200, (by_password.text, by_key.text)
    credentials = [by_password.json()["access_token"], by_key.json()["access_token"], user["key"]]
    for credential in credentials:
        for _ in range(4):  # both workers verify and cache it
            assert chat(gateway.url, credential).status_code == 200
    me = httpx.get(auth_service.url + "/admin/me", headers=bearer(credentials[0]))
    assert me.status_code == 200
    changed = httpx.patch(auth_service.url + f"/admin/users/{user['user']['id']}", json={"is_active": False},
                          headers=bearer(admin_key))
    assert changed.status_code == 200, changed.text
    assert changed.json()["is_active"] is False
    for credential in credentials:
        within(1.0, answered(partial(chat, gateway.url, credential), 401), "refused by every worker")
        assert_openai_error(chat(gateway.url, credential), 401)
    assert httpx.get(auth_service.url + "/admin/me", headers=bearer(credentials[0])).status_code == 401
