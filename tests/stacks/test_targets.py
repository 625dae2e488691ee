"""The target contract: the registry, the unsupported-feature table, the union configuration, and a
program that builds without touching the host."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
import pytest

from helixflow.stacks.config import TARGET_NAMES, json_schema, parse_config
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.secrets import StackSecrets
from helixflow.stacks.targets import TARGETS, all_targets, get_target, target_for
from helixflow.stacks.targets.local.preflight import LocalHost

REPO = Path(__file__).resolve().parents[2]


def helixflow(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELIXFLOW_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "helixflow.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip


def write_stack(home: Path, name: str, settings: dict[str, Any]) -> None:
    import yaml

    project = home / "project"
    project.mkdir(parents=True, exist_ok=True)
    config = {f"helixflow:{key}": value for key, value in settings.items()}
    (project / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def test_every_target_is_registered_with_its_configuration_model() -> None:
    assert tuple(TARGETS) == TARGET_NAMES == ("local", "kubernetes", "aws", "gcp")
    for name, target in TARGETS.items():
        assert target.name == name and target.description
        assert target.config_model.model_fields["target"].annotation.__args__ == (name,)  # type: ignore[union-attr]


def test_targets_json_lists_availability_reasons_and_unsupported_features(tmp_path: Path) -> None:
    proc = helixflow("targets", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    listed = {t["name"]: t for t in json.loads(proc.stdout)}
    assert set(listed) == {"local", "kubernetes", "aws", "gcp"}
    assert listed["local"]["available"] and not listed["local"]["unavailable_reason"]
    assert set(listed["local"]["unsupported"]) == {"gpu", "high availability", "public DNS / ACME"}
    for name in ("kubernetes", "aws"):  # ingress-nginx and cert-manager on the cluster
        assert listed[name]["available"] and "public DNS / ACME" not in listed[name]["unsupported"]
    for name in ("gcp",):
        assert not listed[name]["available"] and "not part of this release" in listed[name]["unavailable_reason"]
    assert [info.to_dict() for info in all_targets()] == list(listed.values())


def test_an_unknown_target_gets_a_did_you_mean_and_the_valid_names() -> None:
    with pytest.raises(HelixFlowError) as err:
        parse_config({"target": "kubernets"})
    assert "unknown target 'kubernets' (did you mean 'kubernetes'?)" in err.value.message
    assert "valid targets: local, kubernetes, aws, gcp" in err.value.message
    with pytest.raises(HelixFlowError, match="did you mean 'gcp'"):
        get_target("gpc")


def test_a_local_stack_with_another_targets_section_is_refused_naming_it() -> None:
    with pytest.raises(HelixFlowError) as err:
        parse_config({"target": "local", "aws": {"region": "eu-west-1"}})
    assert "helixflow:aws: this is the section of target 'aws', but this stack's target is 'local'" in err.value.message
    with pytest.raises(HelixFlowError, match="target is 'aws'"):
        parse_config({"target": "aws", "local": {"workers": 1}})


def test_each_target_has_its_own_section_only() -> None:
    aws = parse_config({"target": "aws", "aws": {"region": "eu-west-1"}})
    assert aws.target == "aws" and not hasattr(aws, "local")
    local = parse_config({})  # no target: the files earlier releases wrote
    assert local.target == "local" and not hasattr(local, "aws")
    with pytest.raises(HelixFlowError, match=r"helixflow:kubernetes\.namespace_prefx: unknown key \(did you mean"):
        parse_config({"target": "kubernetes", "kubernetes": {"namespace_prefx": "x"}})


@pytest.mark.parametrize(
    ("settings", "feature"),
    [({"gpu": True}, "gpu"), ({"high_availability": True}, "high availability"),
     ({"domain": "api.example.com", "acme_email": "ops@example.com"}, "public DNS / ACME")],
)  # fmt: skip
def test_a_feature_the_target_does_not_support_is_refused_with_its_reason(
    settings: dict[str, Any], feature: str
) -> None:
    config = parse_config(settings)
    target = target_for(config)
    with pytest.raises(HelixFlowError) as err:
        target.require_deployable(config)
    assert f"{feature}: {target.unsupported[feature]}" in err.value.message
    target.require_deployable(parse_config({}))  # the defaults ask for nothing it lacks


def test_up_refuses_before_the_engine_starts(tmp_path: Path) -> None:
    """An unsupported feature, an unavailable target and a missing kubeconfig are refused with the reason;
    no state is written."""
    write_stack(tmp_path, "gpus", {"target": "local", "gpu": True})
    write_stack(tmp_path, "cloud", {"target": "gcp"})
    write_stack(tmp_path, "cluster", {"target": "kubernetes", "kubernetes": {"kubeconfig": str(tmp_path / "none")}})
    write_stack(tmp_path, "mixed", {"target": "local", "gcp": {"region": "europe-west4"}})
    for stack, says in (
        ("gpus", "CPU engine workers (llama.cpp) stand in for SGLang GPU workers"),
        ("cloud", "target 'gcp' cannot be deployed"),
        ("cluster", f"cannot read the kubeconfig {tmp_path / 'none'}"),
        ("mixed", "helixflow:gcp: this is the section of target 'gcp'"),
    ):
        proc = helixflow("up", "--yes", "-s", stack, home=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert says in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "state").exists() and not (tmp_path / "stacks").exists()


def test_the_schema_is_a_union_on_target() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["discriminator"]["mapping"]) == set(TARGET_NAMES)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({"target": "local", "local": {"workers": 2}}))
    assert not list(validator.iter_errors({"target": "aws", "aws": {"region": "eu-west-1"}}))
    assert list(validator.iter_errors({"target": "local", "aws": {}}))
    assert list(validator.iter_errors({"target": "azure"}))


class _Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.types: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.types[args.name] = args.typ
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def test_building_and_running_the_local_program_touches_nothing_on_the_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No binary lookups, no processes, no files until the engine runs a resource: the program runs under mocks."""
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path / "home"))

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the program touched the host: {args!r}")

    monkeypatch.setattr(subprocess.Popen, "__init__", forbidden)
    monkeypatch.setattr(shutil, "which", forbidden)
    monkeypatch.setattr(os, "fork", forbidden)
    config = parse_config({"local": {"workers": 3}})
    secrets, _ = StackSecrets.from_config({})
    host = LocalHost(model_path=Path("/models/m.gguf"), postgres_bin_dir=Path("/pg/bin"), python="/py",
                     run_postgres_as=None)  # fmt: skip
    asyncio.set_event_loop(asyncio.new_event_loop())
    recorder = _Recorder()
    pulumi.runtime.set_mocks(recorder, project="helixflow", stack="unit", preview=False)
    program = target_for(config).program(config, lambda: secrets, StackPaths.for_stack("unit"), host)
    pulumi.runtime.test(program)()
    assert recorder.types["local"] == "helixflow:local:Platform"
    assert {"worker-0", "worker-1", "worker-2", "postgres", "nginx"} <= set(recorder.types)
    assert not (tmp_path / "home").exists()


def test_cloud_sdks_are_imported_only_by_the_targets_that_use_them() -> None:
    code = (
        "import sys, helixflow.cli.main, helixflow.stacks.targets, helixflow.stacks.driver;"
        "from helixflow.stacks.config import parse_config; from helixflow.stacks.targets import target_for;"
        "target_for(parse_config({})).info();"
        "print(sorted(m for m in ('pulumi_aws', 'pulumi_gcp', 'pulumi_kubernetes', 'kubernetes', 'pulumi')"
        " if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert proc.stdout.strip() == "[]", proc.stdout


def test_a_log_is_named_by_its_component_never_by_a_path(tmp_path: Path) -> None:
    proc = helixflow("logs", "../../../../etc/passwd", home=tmp_path)
    assert proc.returncode == 1 and "invalid component name" in proc.stderr and "root:" not in proc.stdout
