"""Settings, migrations, the bootstrap command and the monitoring exporter, run as the stack runs them."""

from __future__ import annotations

import time

import httpx
import orjson

from tests.runtime.helpers import chat, new_tenant, within
from tests.support.services import Service, run_module


def test_production_refuses_the_default_secret(base_env: dict[str, str]) -> None:
    env = {**base_env, "HELIXFLOW_ENV": "production"}
    for module in ("helixflow.runtime.gateway", "helixflow.runtime.auth", "helixflow.runtime.bootstrap"):
        args = ["bootstrap", "--tenant", "x", "--username", "x", "--email", "x@x.test"] if "bootstrap" in module else []
        result = run_module(module, args, env, timeout=30)
        assert result.returncode == 2
        assert "HELIXFLOW_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def test_invalid_settings_are_one_clear_line(base_env: dict[str, str]) -> None:
    result = run_module("helixflow.runtime.gateway", [], {**base_env, "HELIXFLOW_GATEWAY_PORT": "eighty"}, timeout=30)
    assert result.returncode == 2 and "gateway_port" in result.stderr and "Traceback" not in result.stderr


def test_upgrade_is_idempotent_and_reports_the_revision(base_env: dict[str, str]) -> None:
    result = run_module("helixflow.runtime.db", ["upgrade"], base_env)
    assert result.returncode == 0 and result.stdout.strip() == "0002"
    down = run_module("helixflow.runtime.db", ["upgrade"], {**base_env, "HELIXFLOW_DATABASE_URL":
                                                             "postgresql://x:y@127.0.0.1:1/none"})
    assert down.returncode == 1 and down.stderr.startswith("error:") and "Traceback" not in down.stderr


def test_bootstrap_again_returns_the_same_ids_and_a_new_key(base_env: dict[str, str], bootstrap: dict[str, str],
                                                            gateway: Service) -> None:
    again = run_module("helixflow.runtime.bootstrap", ["bootstrap", "--tenant", "acme", "--username", "root",
                                                   "--email", "root@acme.test", "--json"], base_env)
    assert again.returncode == 0, again.stderr
    data = orjson.loads(again.stdout)
    assert (data["tenant_id"], data["user_id"], data["created"]) == (bootstrap["tenant_id"], bootstrap["user_id"],
                                                                      False)
    assert data["api_key"] != bootstrap["api_key"] and "password" not in data
    assert chat(gateway.url, data["api_key"]).status_code == 200
    clash = run_module("helixflow.runtime.bootstrap", ["bootstrap", "--tenant", "other", "--username", "root",
                                                   "--email", "root@acme.test", "--json"], base_env)
    assert clash.returncode == 1 and "another tenant" in clash.stderr


def test_bootstrap_with_a_preset_key_stores_it_once(base_env: dict[str, str], gateway: Service) -> None:
    from helixflow.runtime.security.api_keys import derive_api_key

    key = derive_api_key("a stack's secret key", "admin")
    env = {**base_env, "HELIXFLOW_BOOTSTRAP_API_KEY": key}
    args = ["bootstrap", "--tenant", "preset", "--username", "preset-admin", "--email", "p@preset.test", "--json"]
    first = run_module("helixflow.runtime.bootstrap", args, env)
    assert first.returncode == 0, first.stderr
    again = run_module("helixflow.runtime.bootstrap", args, env)
    assert again.returncode == 0, again.stderr
    one, two = orjson.loads(first.stdout), orjson.loads(again.stdout)
    assert one["api_key"] == two["api_key"] == key and one["api_key_id"] == two["api_key_id"]
    assert chat(gateway.url, key).status_code == 200
    bad = run_module("helixflow.runtime.bootstrap", args, {**base_env, "HELIXFLOW_BOOTSTRAP_API_KEY": "hf_short"})
    assert bad.returncode == 1 and "HELIXFLOW_BOOTSTRAP_API_KEY" in bad.stderr and "Traceback" not in bad.stderr


def test_monitoring_exports_usage_cost_and_pool_state(base_env: dict[str, str], gateway: Service,
                                                      fake_pool: Service, auth_service: Service,
                                                      admin_key: str) -> None:
    people = new_tenant(auth_service.url, admin_key)
    for _ in range(3):
        assert chat(gateway.url, people["user"]["key"]).status_code == 200
    env = {**base_env, "HELIXFLOW_POOL_URL": fake_pool.url, "HELIXFLOW_MONITORING_REFRESH_SECONDS": "0.5"}
    with Service("helixflow.runtime.monitoring", "HELIXFLOW_MONITORING_PORT", env) as monitoring:
        tenant = people["tenant"]["id"]
        deadline = time.monotonic() + 15
        while True:
            text = httpx.get(monitoring.url + "/metrics").text
            lines = [line for line in text.splitlines()
                     if line.startswith("helixflow_tenant_requests_total{") and tenant in line]
            if (lines and lines[0].endswith(" 3.0")) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert lines and lines[0].endswith(" 3.0") and 'status="completed"' in lines[0]
        assert any(line.startswith("helixflow_tenant_tokens_total{") and tenant in line for line in text.splitlines())
        assert "helixflow_tenant_cost_total{" in text
        assert "helixflow_pool_ready 1.0" in text and "helixflow_usage_backlog" in text
        health = httpx.get(monitoring.url + "/health").json()
        assert health["status"] == "healthy" and health["checks"]["model_loading"]["healthy"]
        httpx.post(fake_pool.url + "/_control", json={"ready": False})
        try:
            within(3.0, lambda: "helixflow_pool_ready 0.0" in httpx.get(monitoring.url + "/metrics").text,
                   "the pool reported not ready")
            assert httpx.get(gateway.url + "/health/ready").status_code == 503
        finally:
            httpx.post(fake_pool.url + "/_control", json={"ready": True})


def test_auth_service_without_its_database_answers_503_not_a_traceback(base_env: dict[str, str]) -> None:
    from tests.support.processes import free_port

    env = {**base_env, "HELIXFLOW_DATABASE_URL": f"postgresql://x:y@127.0.0.1:{free_port()}/none"}
    with Service("helixflow.runtime.auth", "HELIXFLOW_AUTH_PORT", env) as auth:
        response = httpx.post(auth.url + "/oauth/token",
                              data={"grant_type": "password", "username": "a", "password": "b-password"})
        assert response.status_code == 503 and response.json()["error"]["code"] == "backend_unavailable"
        assert response.headers["retry-after"] == "1"
        assert httpx.get(auth.url + "/health/ready").status_code == 503
