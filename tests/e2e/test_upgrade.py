"""A local stack created by an earlier release upgrades in place, losing no data:

- the release before the platform was a component: `up` re-parents its resources under
  `helixflow:local:Platform` through aliases and replaces nothing;
- the release before the runtime had a database role of its own (tables in `public`, services connecting
  as the superuser): `up` moves every table, rows and all, into schema `helixflow` owned by the new role,
  and restarts the services (and PostgreSQL, to migrate) connecting as it.

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

import psycopg
import pytest
from psycopg import sql

from tests.e2e.conftest import ROLES, WORKERS, LocalStack, default_local_config, free_port_block
from tests.e2e.test_local_stack import chat, usage_rows, wait_for
from tests.support.releases import release_pythonpath
from tests.tiers import require_services

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
# The last release whose local stacks had their components at the stack's root.
PREVIOUS_RELEASE = "050ae5f0410f5c5fbb7740c5852c6a606e996225"
# The last release whose services connected to PostgreSQL as the superuser, to tables in `public`.
SUPERUSER_RELEASE = "a12eaf2f6a6b11919162b68e912684f46a82d02b"
# What moves to the runtime's role: PostgreSQL (it migrates), the bootstrap and the services (their URL).
ROLE_CHANGES = {"postgres", "admin-bootstrap", "auth", "gateway", "monitoring"}
# Updated in place since PREVIOUS_RELEASE: those, and the router (its API key left its command line).
UPDATED_SINCE_PREVIOUS = ROLE_CHANGES | {"router"}


@pytest.fixture
def old_stack(request: pytest.FixtureRequest) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    require_services("a local stack")
    release = getattr(request, "param", PREVIOUS_RELEASE)
    home = Path(tempfile.mkdtemp(prefix="helixflow-upgrade-"))
    ports = free_port_block(len(ROLES) + WORKERS)
    stack = LocalStack(home=home, name="upgrade", ports=dict(zip(ROLES, ports, strict=False)))
    stack.write_config(default_local_config(ports))
    old_env = {**stack.env, "PYTHONPATH": str(release_pythonpath(release, home / "previous-release"))}
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
    # the platform component is new; its 12 children and the provider stay (UPDATED_SINCE_PREVIOUS updated
    # in place)
    expected = {"create": 1, "update": len(UPDATED_SINCE_PREVIOUS), "same": 13 - len(UPDATED_SINCE_PREVIOUS)}
    assert json.loads(preview.stdout)["changes"] == expected
    upgraded = stack.cli("up", "--yes", "--no-validate", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["changes"] == expected

    resources = _state(stack)
    platform = next(r for r in resources if r["type"] == "helixflow:local:Platform")
    children = [r for r in resources if r["type"] == "pulumi-python:dynamic:Resource"]
    assert len(children) == 12 and all(r["parent"] == platform["urn"] for r in children)
    pids = _pids(stack)
    assert {k: v for k, v in pids.items() if k not in UPDATED_SINCE_PREVIOUS} == {
        k: v for k, v in pids_before.items() if k not in UPDATED_SINCE_PREVIOUS}  # nothing else was restarted
    assert all(pids[k] != pids_before[k] for k in UPDATED_SINCE_PREVIOUS if k in pids)
    outputs = json.loads(stack.cli("outputs", "--json", "--show-secrets").stdout)
    assert outputs["admin_api_key"] == old_outputs["admin_api_key"]
    assert len(wait_for(lambda: usage_rows(stack, request_id), 30, "the usage row")) == 1  # the data is there
    assert chat(stack, outputs, outputs["admin_api_key"], f"after-{request_id}").status_code == 200
    again = stack.cli("up", "--yes", "--no-validate", "--json")
    assert json.loads(again.stdout)["changes"] == {"same": 14}


def _tables(stack: LocalStack) -> dict[str, tuple[str, str, int]]:
    """name -> (schema, owner, rows) of every table of the database, as the superuser sees them."""
    password = stack.secrets()["postgresPassword"]
    url = f"postgresql://helixflow:{password}@127.0.0.1:{stack.ports['postgres']}/helixflow"
    tables: dict[str, tuple[str, str, int]] = {}
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT schemaname, tablename, tableowner FROM pg_tables "
                             "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").fetchall()
        for schema, name, owner in found:
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()
            assert count is not None
            tables[name] = (schema, owner, int(count[0]))
    return tables


@pytest.mark.parametrize("old_stack", [SUPERUSER_RELEASE], indirect=True)
def test_a_superuser_stack_moves_to_the_runtime_role_with_every_row(
    old_stack: tuple[LocalStack, dict[str, str]],
) -> None:
    stack, old_env = old_stack
    created = stack.cli("up", "--yes", "--no-validate", "--json", env=old_env)
    assert created.returncode == 0, created.stderr
    old_outputs = json.loads(stack.cli("outputs", "--json", "--show-secrets", env=old_env).stdout)
    request_ids = [f"role-upgrade-{i}-{uuid.uuid4().hex}" for i in range(3)]
    for request_id in request_ids:
        assert chat(stack, old_outputs, old_outputs["admin_api_key"], request_id).status_code == 200
    wait_for(lambda: all(usage_rows(stack, rid) for rid in request_ids), 30, "the usage rows")
    before = _tables(stack)
    assert {schema for schema, _, _ in before.values()} == {"public"}, "the old release's layout"
    assert {owner for _, owner, _ in before.values()} == {"helixflow"}

    upgraded = stack.cli("up", "--yes", "--no-validate", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    after = _tables(stack)
    assert after == {name: ("helixflow", "helixflow_app", rows) for name, (_, _, rows) in before.items()}
    outputs = json.loads(stack.cli("outputs", "--json", "--show-secrets").stdout)
    assert outputs["admin_api_key"] == old_outputs["admin_api_key"]  # the key the stack handed out still works
    assert chat(stack, outputs, outputs["admin_api_key"], f"after-{uuid.uuid4().hex}").status_code == 200
    for request_id in request_ids:
        assert len(usage_rows(stack, request_id)) == 1
    again = stack.cli("up", "--yes", "--no-validate", "--json")
    assert json.loads(again.stdout)["changes"] == {"same": 14}
