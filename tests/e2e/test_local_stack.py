"""The main job end to end: `helixflow up` brings the platform up through the real Pulumi
engine, a chat completion goes through nginx (TLS verified against the stack's CA) with an
API key, it shows in Prometheus and in the usage table, and the data outlives down/up.

The tests in this module run in order against one stack (module-scoped fixture).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.conftest import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
# The first `up` also runs `helixflow validate` (and must pass it); later ones skip it with
# --no-validate to keep this module's many up/down cycles short: tests/validate covers validation.


def chat(stack: LocalStack, outputs: dict[str, Any], api_key: str, request_id: str) -> httpx.Response:
    with httpx.Client(verify=ssl.create_default_context(cafile=outputs["ca_file"]), timeout=30) as client:
        return client.post(
            f"{outputs['endpoint']}/v1/chat/completions",
            headers={"Authorization": f"Bearer {api_key}", "X-Request-ID": request_id},
            json={"model": outputs["model"], "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 8},
        )


def usage_rows(stack: LocalStack, request_id: str) -> list[tuple[Any, ...]]:
    password = stack.secrets()["postgresPassword"]
    url = f"postgresql://helixflow:{password}@127.0.0.1:{stack.ports['postgres']}/helixflow"
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT prompt_tokens, completion_tokens, status_code FROM requests WHERE client_request_id = %s",
            (request_id,),
        ).fetchall()


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def providers_of(stack: LocalStack) -> list[int]:
    """Running `python -m pulumi.dynamic` processes started for this stack's home."""
    found = []
    marker = f"HELIXFLOW_HOME={stack.home}".encode()
    for proc_dir in Path("/proc").iterdir():
        try:
            is_provider = b"pulumi.dynamic" in (proc_dir / "cmdline").read_bytes()
            if is_provider and marker in (proc_dir / "environ").read_bytes():
                found.append(int(proc_dir.name))
        except (OSError, ValueError):
            continue
    return found


def process_command_lines() -> list[str]:
    lines = []
    for proc_dir in Path("/proc").iterdir():
        try:
            lines.append((proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return lines


def outputs_with_key(stack: LocalStack) -> dict[str, Any]:
    rc, outputs = stack.cli_json("outputs", "--show-secrets")
    assert rc == 0
    return dict(outputs)


class TestBeforeAnythingStarts:
    """Bad input fails before any resource is touched."""

    def test_bad_config_value_names_the_key(self, local_stack: LocalStack) -> None:
        good = local_stack.home / "project" / f"Pulumi.{local_stack.name}.yaml"
        saved = good.read_text()
        try:
            good.write_text(saved.replace("workers:", "workres:"))
            proc = local_stack.cli("up", "--yes")
            assert proc.returncode == 1
            assert "unknown key (did you mean 'workers'?)" in proc.stderr
            assert len(proc.stderr.strip().splitlines()) == 1
        finally:
            good.write_text(saved)
        assert not (local_stack.home / "state" / ".pulumi" / "stacks").exists()

    def test_port_in_use(self, local_stack: LocalStack) -> None:
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", local_stack.ports["gateway"]))
            holder.listen()
            proc = local_stack.cli("up", "--yes")
        assert proc.returncode == 1
        assert f"port {local_stack.ports['gateway']} (gateway) is in use" in proc.stderr
        assert not (local_stack.home / "stacks" / local_stack.name / "run").exists() or not any(
            (local_stack.home / "stacks" / local_stack.name / "run").glob("*.pid")
        )

    def test_missing_binary(self, local_stack: LocalStack, tmp_path: Path) -> None:
        # a PATH with everything but nginx
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for directory in os.environ["PATH"].split(os.pathsep):
            for entry in Path(directory).glob("*") if Path(directory).is_dir() else []:
                if entry.name != "nginx" and not (bin_dir / entry.name).exists():
                    (bin_dir / entry.name).symlink_to(entry)
        proc = local_stack.cli("up", "--yes", env={**local_stack.env, "PATH": str(bin_dir)})
        assert proc.returncode == 1
        assert "nginx: not installed" in proc.stderr


class TestLifecycle:
    def test_up_serves_a_chat_completion_through_tls(self, local_stack: LocalStack) -> None:
        proc = local_stack.cli("up", "--yes", "--json")
        assert proc.returncode == 0, proc.stderr
        rc, status = local_stack.cli_json("status")
        assert rc == 0, status
        assert {c["name"] for c in status["components"]} >= {
            "postgres", "redis", "auth", "gateway", "router", "worker-0", "worker-1", "monitoring", "nginx",
            "prometheus",
        }  # fmt: skip
        outputs = outputs_with_key(local_stack)
        assert outputs["endpoint"] == f"https://localhost:{local_stack.ports['https']}"

        request_id = f"e2e-{uuid.uuid4().hex}"
        response = chat(local_stack, outputs, outputs["admin_api_key"], request_id)
        assert response.status_code == 200, response.text
        assert response.json()["usage"]["completion_tokens"] > 0

        # plain HTTP is redirected to HTTPS
        redirect = httpx.get(f"http://127.0.0.1:{local_stack.ports['http']}/v1/models", follow_redirects=False)
        assert redirect.status_code == 301
        assert redirect.headers["location"].startswith("https://")

        # the request is in the usage table ...
        rows = wait_for(lambda: usage_rows(local_stack, request_id), 30, "the usage row")
        assert rows[0][1] > 0 and rows[0][2] == 200

        # ... and in api_requests_total as scraped by Prometheus
        def scraped() -> float:
            query = 'sum(api_requests_total{endpoint="/v1/chat/completions",status="200"})'
            result = httpx.get(f"{outputs['prometheus_url']}/api/v1/query", params={"query": query}).json()
            values = result["data"]["result"]
            return float(values[0]["value"][1]) if values else 0.0

        assert wait_for(scraped, 40, "api_requests_total in Prometheus") >= 1

    def test_the_services_connect_as_a_role_that_owns_only_its_schema(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        outputs = outputs_with_key(local_stack)
        assert chat(local_stack, outputs, outputs["admin_api_key"], f"role-{uuid.uuid4().hex}").status_code == 200
        secrets, port = local_stack.secrets(), local_stack.ports["postgres"]
        admin = f"postgresql://helixflow:{secrets['postgresPassword']}@127.0.0.1:{port}/helixflow"
        with psycopg.connect(admin) as conn:
            sessions = conn.execute("SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'helixflow' "
                                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchall()
            owners = conn.execute("SELECT DISTINCT schemaname, tableowner FROM pg_tables "
                                  "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").fetchall()
        assert sessions == [("helixflow_app",)]  # the gateway's, auth's and monitoring's pools
        assert owners == [("helixflow", "helixflow_app")]
        role = f"postgresql://helixflow_app:{secrets['postgresRuntimePassword']}@127.0.0.1:{port}/helixflow"
        with psycopg.connect(role, autocommit=True) as conn:
            assert conn.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                                "WHERE rolname = current_user").fetchone() == (False, False, False)
            for statement in ("CREATE DATABASE stolen", "CREATE ROLE intruder"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
        # the superuser's password is in no service's environment, nor in the outputs validate reads
        for name in ("gateway", "auth", "monitoring"):
            pid = next(c["pid"] for c in local_stack.cli_json("status")[1]["components"] if c["name"] == name)
            assert secrets["postgresPassword"].encode() not in Path(f"/proc/{pid}/environ").read_bytes(), name
        assert secrets["postgresPassword"] not in outputs["database_url"]

    def test_the_openai_sdk_example_works(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        example = Path(__file__).resolve().parents[2] / "examples" / "openai_client.py"
        env = {**local_stack.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        proc = subprocess.run(
            [sys.executable, str(example), "--stack", local_stack.name], capture_output=True, text=True, env=env,
            timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "models: ['helixflow-tiny']" in proc.stdout
        assert "completion_tokens=8" in proc.stdout or "completion_tokens=16" in proc.stdout

    def test_secrets_never_in_output_logs_or_plain_state(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        secrets = [v for k, v in local_stack.secrets().items() if k in {
            "postgresPassword", "postgresRuntimePassword", "redisPassword", "secretKey", "routerApiKey"}]  # fmt: skip
        secrets.append(outputs_with_key(local_stack)["admin_api_key"])
        secrets.append((local_stack.home / "passphrase").read_text().strip())
        assert len(secrets) == 7 and all(len(s) >= 16 for s in secrets)

        texts = [
            local_stack.cli("status").stdout,
            local_stack.cli("outputs").stdout,
            local_stack.cli("up", "--yes").stderr,
        ]
        files = [*(local_stack.home / "state").rglob("*.json"), *(local_stack.home / "stacks").rglob("*.log")]
        files.append(local_stack.home / "project" / f"Pulumi.{local_stack.name}.yaml")
        texts += [f.read_text(errors="replace") for f in files]
        for secret in secrets:
            assert not any(secret in text for text in texts), "a secret leaked"
        command_lines = process_command_lines()  # what `ps` shows every user of the machine
        assert any("helixflow.runtime.gateway" in line for line in command_lines)
        for secret in secrets:
            assert not [line for line in command_lines if secret in line], "a secret is on a command line"

    def test_component_killed_behind_the_engines_back(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        _, status = local_stack.cli_json("status")
        worker = next(c for c in status["components"] if c["name"] == "worker-0")
        os.killpg(worker["pid"], signal.SIGKILL)
        wait_for(lambda: local_stack.cli_json("status")[0] == 1, 10, "status to notice")
        rc, status = local_stack.cli_json("status")
        assert next(c for c in status["components"] if c["name"] == "worker-0")["state"] == "down"

        proc = local_stack.cli("up", "--yes", "--no-validate")
        assert proc.returncode == 0, proc.stderr
        rc, status = local_stack.cli_json("status")
        assert rc == 0
        assert next(c for c in status["components"] if c["name"] == "worker-0")["pid"] != worker["pid"]

    def test_second_up_while_one_runs_is_refused(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        # give the first run real work, so its lock is held long enough to collide with
        _, status = local_stack.cli_json("status")
        for component in status["components"]:
            if component["name"].startswith("worker-"):
                os.killpg(component["pid"], signal.SIGKILL)
        first = local_stack.popen("up", "--yes", "--no-validate")
        try:
            lock_dir = local_stack.home / "state" / ".pulumi" / "locks"
            wait_for(lambda: lock_dir.exists() and any(lock_dir.rglob("*.json")), 60, "the first run's lock")
            second = local_stack.cli("up", "--yes", "--no-validate")
            assert second.returncode == 1
            assert "is busy: another run holds its lock: pid" in second.stderr
        finally:
            first.communicate(timeout=300)
        assert first.returncode == 0
        assert local_stack.cli_json("status")[0] == 0

    def test_nothing_to_change(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        rc, summary = local_stack.cli_json("up", "--yes", "--no-validate")
        assert rc == 0
        assert set(summary["changes"]) == {"same"}

    def test_down_keeps_data_and_up_finds_it(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        outputs = outputs_with_key(local_stack)
        request_id = f"e2e-{uuid.uuid4().hex}"
        assert chat(local_stack, outputs, outputs["admin_api_key"], request_id).status_code == 200
        wait_for(lambda: usage_rows(local_stack, request_id), 30, "the usage row")
        rc, summary = local_stack.cli_json("down", "--yes")
        assert rc == 0 and summary["purged"] is False
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{local_stack.ports['gateway']}/health/live", timeout=2)

        assert local_stack.cli("up", "--yes", "--no-validate").returncode == 0
        # the key issued before `down` still works: users and keys survived
        response = chat(local_stack, outputs, outputs["admin_api_key"], f"e2e-{uuid.uuid4().hex}")
        assert response.status_code == 200, response.text
        assert usage_rows(local_stack, request_id)

    def test_interrupted_up_converges(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        assert local_stack.cli("down", "--yes").returncode == 0
        first = local_stack.popen("up", "--yes", "--no-validate")
        run_dir = local_stack.home / "stacks" / local_stack.name / "run"
        wait_for(lambda: len(list(run_dir.glob("*.pid"))) >= 3, 90, "some components to start")
        os.killpg(first.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
        first.communicate(timeout=120)
        proc = local_stack.cli("up", "--yes", "--no-validate")
        assert proc.returncode == 0, proc.stderr
        assert local_stack.cli_json("status")[0] == 0
        # and no dynamic-provider process of this stack outlived its engine
        wait_for(lambda: not providers_of(local_stack), 10, "the providers to exit")

    def test_down_purge_data(self, local_stack: LocalStack) -> None:
        local_stack.ensure_up()
        refused = local_stack.cli("down", "--purge-data")
        assert refused.returncode == 1 and "--yes" in refused.stderr
        rc, summary = local_stack.cli_json("down", "--purge-data", "--yes")
        assert rc == 0 and summary["purged"] is True
        assert not (local_stack.home / "stacks" / local_stack.name / "data").exists()
