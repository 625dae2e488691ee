"""The Pulumi CLI works end to end: an inline Automation API program with one
Python dynamic resource is created, read back and destroyed on a file backend."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from helixflow.stacks.pulumi_cli import find_pulumi

HERE = Path(__file__).parent


@pytest.fixture
def workspace_env(tmp_path: Path) -> dict[str, str]:
    backend = tmp_path / "state"
    backend.mkdir()
    return {
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": "test-only-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": sys.executable,
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        # the provider process imports probe_provider by name
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }


def test_dynamic_resource_create_read_destroy(tmp_path: Path, workspace_env: dict[str, str]) -> None:
    from pulumi import automation as auto
    from pulumi import export

    sys.path.insert(0, str(HERE))
    try:
        import probe_provider
    finally:
        sys.path.remove(str(HERE))

    target = tmp_path / "files"
    target.mkdir()

    def program() -> None:
        probe = probe_provider.ProbeFile("probe", directory=str(target), content="hello from the engine")
        export("path", probe.path)

    engine = find_pulumi()
    command = auto.PulumiCommand(root=str(engine.root))
    stack = auto.create_stack(
        stack_name="engine-smoke",
        project_name="helixflow-engine-smoke",
        program=program,
        opts=auto.LocalWorkspaceOptions(pulumi_command=command, env_vars=workspace_env),
    )

    up = stack.up()
    assert up.summary.result == "succeeded"
    created = Path(up.outputs["path"].value)
    assert created.read_text() == "hello from the engine"

    # read back: refresh runs the provider's read(); the state keeps the resource
    refresh = stack.refresh()
    assert refresh.summary.result == "succeeded"
    state = stack.export_stack().deployment
    dynamic = [r for r in state["resources"] if r["type"] == "pulumi-python:dynamic:Resource"]
    assert len(dynamic) == 1
    assert dynamic[0]["outputs"]["content"] == "hello from the engine"

    # a resource removed behind the engine's back is noticed on refresh, and up recreates it
    created.unlink()
    stack.refresh()
    types = [r["type"] for r in stack.export_stack().deployment.get("resources", [])]
    assert "pulumi-python:dynamic:Resource" not in types
    again = stack.up()
    created = Path(again.outputs["path"].value)
    assert created.read_text() == "hello from the engine"

    destroy = stack.destroy()
    assert destroy.summary.result == "succeeded"
    assert not created.exists()
    assert stack.export_stack().deployment.get("resources") in (None, [])
    stack.workspace.remove_stack("engine-smoke")
