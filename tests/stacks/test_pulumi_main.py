"""The program behind the root Pulumi.yaml, run under Pulumi's mocks (no engine, no processes)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.secrets import CONFIG_KEYS
from helixflow.stacks.targets.local import LocalTarget
from helixflow.stacks.targets.local.preflight import LocalHost

REPO = Path(__file__).resolve().parents[2]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.types: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources[args.name] = dict(args.inputs)
        self.types[args.name] = args.typ
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def host_facts(tmp_path: Path) -> LocalHost:
    """What the local target's preflight would find, without looking (no binaries, no ports, no model)."""
    return LocalHost(model_path=tmp_path / "model.gguf", postgres_bin_dir=Path("/nonexistent/pg/bin"),
                     python="/nonexistent/python", run_postgres_as=None)  # fmt: skip


@pytest.fixture
def mocks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RecordingMocks:
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path))
    monkeypatch.setattr(LocalTarget, "preflight", lambda self, config, paths: host_facts(tmp_path))
    # an earlier test's asyncio.run() may have left the thread without an event loop; Pulumi's mocks need one
    asyncio.set_event_loop(asyncio.new_event_loop())
    recorder = RecordingMocks()
    pulumi.runtime.set_mocks(recorder, project="helixflow", stack="unit", preview=False)
    return recorder


def configure(secrets: bool = True, **local: Any) -> None:
    config = {"helixflow:target": "local", "helixflow:local": json.dumps(local)}
    if secrets:
        config.update({f"helixflow:{key}": f"unit-{key}-value" for key in CONFIG_KEYS.values()})
    pulumi.runtime.set_all_config(config)


def test_root_pulumi_yaml_points_at_the_program() -> None:
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == "helixflow" and project["runtime"]["name"] == "python"
    assert (REPO / project["main"]).is_file()


def test_program_declares_the_whole_platform(mocks: RecordingMocks) -> None:
    from helixflow.stacks.pulumi_main import main

    @pulumi.runtime.test  # type: ignore[misc]
    def run_program() -> None:
        configure(workers=3)
        main()

    run_program()  # returns once every registration has reached the mocks
    assert {"postgres", "redis", "admin-bootstrap", "router", "auth", "gateway", "monitoring", "local-ca",
            "nginx", "prometheus", "worker-0", "worker-1", "worker-2"} <= set(mocks.resources)  # fmt: skip
    assert mocks.resources["prometheus"]["targets"]["workers"] == [30001, 30002, 30003]
    assert mocks.types["local"] == "helixflow:local:Platform"


def test_missing_secrets_are_a_clear_error(mocks: RecordingMocks) -> None:
    from helixflow.stacks.pulumi_main import main

    configure(secrets=False)
    with pytest.raises(HelixFlowError, match="lacks its secrets: helixflow:postgresPassword"):
        main()


def test_bad_settings_are_refused_before_any_resource(mocks: RecordingMocks) -> None:
    from helixflow.stacks.pulumi_main import main

    configure(workres=2)
    with pytest.raises(HelixFlowError, match="did you mean 'workers'"):
        main()
    assert mocks.resources == {}
