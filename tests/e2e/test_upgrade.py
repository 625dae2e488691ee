"""A local stack created by the previous release upgrades in place: `up` with this release re-parents
its resources under `helixflow:local:Platform` through aliases, replaces nothing, restarts nothing,
and loses no data.

The previous release's code comes from this repository's history (`git archive`), and runs from the
same virtual environment with its packages first on PYTHONPATH, as that release's CLI would.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROLES, WORKERS, LocalStack, default_local_config, free_port_block
from tests.e2e.test_local_stack import chat, usage_rows, wait_for
from tests.support.releases import release_pythonpath
from tests.tiers import require_services

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
# The last release whose local stacks had their components at the stack's root.
PREVIOUS_RELEASE = "050ae5f0410f5c5fbb7740c5852c6a606e996225"


@pytest.fixture
def old_stack() -> Iterator[tuple[LocalStack, dict[str, str]]]:
    require_services("a local stack")
    home = Path(tempfile.mkdtemp(prefix="helixflow-upgrade-"))
    ports = free_port_block(len(ROLES) + WORKERS)
    stack = LocalStack(home=home, name="upgrade", ports=dict(zip(ROLES, ports, strict=False)))
    stack.write_config(default_local_config(ports))
    old_env = {**stack.env, "PYTHONPATH": str(release_pythonpath(PREVIOUS_RELEASE, home / "previous-release"))}
    yield stack, old_env
    stack.cli("down", "--purge-data", "--yes", timeout=120)
    shutil.rmtree(home, ignore_errors=True)


def _state(stack: LocalStack) -> list[dict[str, Any]]:
    state = stack.home / "state" / ".pulumi" / "stacks" / "helixflow" / f"{stack.name}.json"
    return list(json.loads(state.read_text())["checkpoint"]["latest"]["resources"])


def _pids(stack: LocalStack, env: dict[str, str] | None = None) -> dict[str, int]:
    proc = stack.cli("status", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return {c["name"]: c["pid"] for c in json.loads(proc.stdout)["components"]}


def test_a_stack_of_the_previous_release_upgrades_in_place(old_stack: tuple[LocalStack, dict[str, str]]) -> None:
    stack, old_env = old_stack
    created = stack.cli("up", "--yes", "--no-validate", "--json", env=old_env)
    assert created.returncode == 0, created.stderr
    old_outputs = json.loads(stack.cli("outputs", "--json", "--show-secrets", env=old_env).stdout)
    at_root = [r for r in _state(stack) if r["type"] == "pulumi-python:dynamic:Resource"]
    assert all(r["parent"].endswith("::helixflow-upgrade") for r in at_root), "the previous release's layout"
    request_id = f"upgrade-{uuid.uuid4().hex}"
    assert chat(stack, old_outputs, old_outputs["admin_api_key"], request_id).status_code == 200
    pids_before = _pids(stack, old_env)

    preview = stack.cli("preview", "--json")
    assert preview.returncode == 0, preview.stderr
    # the platform component is new; its 12 children and the provider stay
    assert json.loads(preview.stdout)["changes"] == {"create": 1, "same": 13}
    upgraded = stack.cli("up", "--yes", "--no-validate", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["changes"] == {"create": 1, "same": 13}

    resources = _state(stack)
    platform = next(r for r in resources if r["type"] == "helixflow:local:Platform")
    children = [r for r in resources if r["type"] == "pulumi-python:dynamic:Resource"]
    assert len(children) == 12 and all(r["parent"] == platform["urn"] for r in children)
    assert _pids(stack) == pids_before  # nothing was restarted
    outputs = json.loads(stack.cli("outputs", "--json", "--show-secrets").stdout)
    assert outputs["admin_api_key"] == old_outputs["admin_api_key"]
    assert len(wait_for(lambda: usage_rows(stack, request_id), 30, "the usage row")) == 1  # the data is there
    assert chat(stack, outputs, outputs["admin_api_key"], f"after-{request_id}").status_code == 200
    again = stack.cli("up", "--yes", "--no-validate", "--json")
    assert json.loads(again.stdout)["changes"] == {"same": 14}
