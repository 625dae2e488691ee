"""Tenants on a real local platform, through the CLI and the real Pulumi engine: a tenant's key works through
the gateway, a quota change applies at once, a deleted tenant's key is refused within a second while its usage
is still reported, and `tenant apply` applies the others when one tenant fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import yaml

from tests.e2e.conftest import LocalStack, local_stack  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e


def tenant(stack: LocalStack, *args: str, timeout: float = 300) -> tuple[int, Any, str]:
    proc = stack.cli("tenant", *args, "-s", stack.name, "--json", timeout=timeout)
    try:
        return proc.returncode, json.loads(proc.stdout), proc.stderr
    except ValueError:
        raise AssertionError(
            f"no JSON from tenant {args}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        ) from None


def gateway(stack: LocalStack) -> httpx.Client:
    ca = stack.home / "stacks" / stack.name / "tls" / "ca.crt"
    import ssl

    return httpx.Client(base_url=f"https://localhost:{stack.ports['https']}", verify=ssl.create_default_context(
        cafile=str(ca)), timeout=30)  # fmt: skip


def chat(client: httpx.Client, key: str) -> int:
    body = {"model": "helixflow-tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
    response = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}",
                                                                      "Cache-Control": "no-cache"})  # fmt: skip
    return response.status_code


def first_status(client: httpx.Client, key: str, wanted: int, within: float) -> float | None:
    """Seconds until a request answers `wanted`, or None if none did within the time."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if chat(client, key) == wanted:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def test_a_tenant_from_create_to_delete(local_stack: LocalStack) -> None:  # noqa: F811
    local_stack.ensure_up()
    rc, created, err = tenant(local_stack, "create", "acme", "--plan", "free", "--rpm", "100")
    assert rc == 0, err
    key = created["api_key"]
    assert key.startswith("hf_") and created["outputs"]["api_key"] == "[secret]"
    assert created["outputs"]["limits"]["requests_per_minute"] == 100
    with gateway(local_stack) as client:
        assert [chat(client, key) for _ in range(3)] == [200, 200, 200]

        rc, updated, err = tenant(local_stack, "update", "acme", "--rpm", "1")
        assert rc == 0, err
        assert "api_key" not in updated  # the key is handed back once, by create
        assert updated["outputs"]["limits"]["requests_per_minute"] == 1
        assert first_status(client, key, 429, within=3.0) is not None, "the lower quota did not apply"

        rc, listed, _ = tenant(local_stack, "list")
        assert rc == 0 and [t["tenant"] for t in listed] == ["acme"] and listed[0]["plan"] == "free"

        rc, _, err = tenant(local_stack, "delete", "acme", "--yes")
        assert rc == 0, err
        refused_after = first_status(client, key, 401, within=1.0)
        assert refused_after is not None, "the deleted tenant's key still worked a second after the delete"

    rc, listed, _ = tenant(local_stack, "list")
    assert listed == []
    deadline = time.monotonic() + 20
    while True:  # the usage drainers write within a moment; `show` reads PostgreSQL through the admin API
        rc, shown, err = tenant(local_stack, "show", "acme")
        assert rc == 0, err
        if shown["usage"]["total_requests"] >= 3 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert shown["state"] == "deleted" and shown["runtime"]["is_active"] is False
    assert shown["usage"]["total_requests"] >= 3  # its usage records were kept


def test_apply_reconciles_and_one_failing_tenant_does_not_stop_the_others(local_stack: LocalStack,  # noqa: F811
                                                                        tmp_path: Path) -> None:  # fmt: skip
    local_stack.ensure_up()
    manifest = tmp_path / "tenants.yaml"
    # `default` is the platform's own admin tenant: the runtime has it with live keys, so its tenant stack
    # refuses to adopt it (its engine run fails) while the others go on.
    manifest.write_text(
        yaml.safe_dump(
            {
                "tenants": [
                    {"name": "globex", "plan": "free"},
                    {"name": "default"},
                    {"name": "initech", "requests_per_minute": 7},
                ]
            }
        )
    )
    rc, applied, err = tenant(local_stack, "apply", str(manifest), "--parallel", "3")
    assert rc == 1, err
    results = {r["tenant"]: r for r in applied["results"]}
    assert results["globex"]["ok"] and results["initech"]["ok"], results
    assert results["globex"]["api_key"].startswith("hf_")
    assert not results["default"]["ok"] and "already exists in the runtime" in results["default"]["error"]

    manifest.write_text(yaml.safe_dump({"tenants": [{"name": "globex", "plan": "standard"}]}))
    refused = local_stack.cli("tenant", "apply", str(manifest), "-s", local_stack.name)  # no TTY, no --yes
    assert refused.returncode == 1 and "add --yes" in refused.stderr
    rc, applied, err = tenant(local_stack, "apply", str(manifest), "--yes")
    assert rc == 0, err
    actions = {r["tenant"]: r["action"] for r in applied["results"]}
    assert actions == {"globex": "update", "initech": "delete", "default": "delete"}  # a failed first run too
    rc, listed, _ = tenant(local_stack, "list")
    assert [(t["tenant"], t["plan"]) for t in listed] == [("globex", "standard")]
    rc, applied, err = tenant(local_stack, "apply", str(manifest), "--yes")
    assert rc == 0 and applied["results"] == [] and applied["unchanged"] == ["globex"]


EXAMPLE = Path(__file__).parents[2] / "examples" / "tenants-ci"


def provision(stack: LocalStack, tenants_file: Path, reports: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)  # where `helixflow` is installed
    return subprocess.run([str(EXAMPLE / "provision.sh"), str(tenants_file)], capture_output=True, text=True,
                          timeout=900, check=False, env={**stack.env, "PATH": f"{bin_dir}:{os.environ['PATH']}",
                                                         "HELIXFLOW_STACK": stack.name, "REPORTS": str(reports),
                                                         **env})  # fmt: skip


def junit_counts(path: Path) -> dict[str, int]:
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    return {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors")}


def test_the_ci_example_provisions_the_tenants_and_validates(local_stack: LocalStack,  # noqa: F811
                                                            tmp_path: Path) -> None:  # fmt: skip
    local_stack.ensure_up()
    wanted = {t["name"] for t in yaml.safe_load((EXAMPLE / "tenants.yaml").read_text())["tenants"]}
    first = provision(local_stack, EXAMPLE / "tenants.yaml", tmp_path / "first")
    assert first.returncode == 0, first.stdout + first.stderr
    results = json.loads((tmp_path / "first" / "tenants.json").read_text())
    assert {r["tenant"] for r in results["results"] if r["ok"]} | set(results["unchanged"]) >= wanted
    keys_file = tmp_path / "first" / "new-keys.json"
    keys = json.loads(keys_file.read_text())
    created = {r["tenant"] for r in results["results"] if r["action"] == "create"}
    assert set(keys) == created and all(k.startswith("hf_") for k in keys.values())
    assert keys_file.stat().st_mode & 0o777 == 0o600
    for key in keys.values():
        assert key not in first.stdout + first.stderr + (tmp_path / "first" / "tenants.json").read_text()
    counts = junit_counts(tmp_path / "first" / "validate.xml")
    assert counts["tests"] > 0 and counts["failures"] == counts["errors"] == 0, counts
    rc, listed, _ = tenant(local_stack, "list")
    assert rc == 0 and {t["tenant"] for t in listed} == wanted

    # One tenant the runtime refuses (the platform's own admin tenant): the run fails, the others stay
    # unchanged, and the reports are still written for the pipeline.
    failing = tmp_path / "failing.yaml"
    document = yaml.safe_load((EXAMPLE / "tenants.yaml").read_text())
    document["tenants"].append({"name": "default"})
    failing.write_text(yaml.safe_dump(document))
    second = provision(local_stack, failing, tmp_path / "second", VALIDATE_GROUPS="availability")
    assert second.returncode == 1, second.stdout + second.stderr
    assert "default: create FAILED" in second.stdout and "tenant apply failed" in second.stderr
    results = json.loads((tmp_path / "second" / "tenants.json").read_text())
    assert set(results["unchanged"]) == wanted
    assert junit_counts(tmp_path / "second" / "validate.xml")["failures"] == 0
    assert json.loads((tmp_path / "second" / "new-keys.json").read_text()) == {}
