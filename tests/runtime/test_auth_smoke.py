import httpx

from tests.support.services import Service


def test_password_grant(auth_service: Service, bootstrap: dict[str, str]) -> None:
    r = httpx.post(auth_service.url + "/oauth/token",
                   data={"grant_type": "password", "username": "root", "password": "root-password"})
    assert r.status_code == 200, r.text
    r2 = httpx.get(auth_service.url + "/admin/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert r2.json()["tenant_id"] == bootstrap["tenant_id"], r2.text
    r3 = httpx.get(auth_service.url + "/admin/me", headers={"Authorization": f"Bearer {bootstrap['api_key']}"})
    assert r3.json()["role"] == "admin", r3.text
    print(httpx.get(auth_service.url + "/health").text)
