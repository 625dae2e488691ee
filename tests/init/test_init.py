"""`helixflow init`: every template writes a stack configuration the stack model accepts; values come from
flags or, on a terminal, prompts; without one a missing value fails naming its flag; nothing is
overwritten without --force, and a refused run writes nothing."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from helixflow.cli.commands.init import init as init_command
from helixflow.cli.main import run
from helixflow.stacks.config import parse_config, split_namespace
from helixflow.stacks.driver import StackDriver
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.scaffold.catalog import Parameter, all_parameters, flag, load_template, template_names
from helixflow.stacks.scaffold.init import scaffold

pytestmark = pytest.mark.unit
REQUIRED = {"aws_region": "eu-west-1", "gcp_project": "helixflow-prod-1"}
EXPECTED_TARGETS = {
    "local": ["local"], "kubernetes": ["kubernetes"], "aws-gpu": ["aws"], "gcp-gpu": ["gcp"],
    "multi-cloud": ["aws", "gcp"],
}  # fmt: skip


def parsed(path: Path) -> Any:
    document = yaml.safe_load(path.read_text())
    return parse_config(split_namespace(document["config"])[0], source=str(path))


def test_the_templates_are_the_five_the_cli_names() -> None:
    assert sorted(template_names()) == sorted(EXPECTED_TARGETS)


@pytest.mark.parametrize("template", sorted(EXPECTED_TARGETS))
def test_every_template_writes_stacks_the_model_accepts(template: str, tmp_path: Path) -> None:
    values = {k: v for k, v in REQUIRED.items() if k in load_template(template).parameters}
    written = scaffold(template, stack="prod", values=values, directory=tmp_path)  # type: ignore[arg-type]
    assert [s.target for s in written] == EXPECTED_TARGETS[template]
    for s in written:
        assert s.path.name == f"Pulumi.{s.name}.yaml" and s.path.parent == tmp_path
        assert parsed(s.path).target == s.target
    if template == "multi-cloud":
        assert [s.name for s in written] == ["prod-aws", "prod-gcp"]


def test_values_land_where_the_model_reads_them(tmp_path: Path) -> None:
    [s] = scaffold("gcp-gpu", stack="g", values={"gcp_project": "my-proj-42", "gcp_region": "europe-west4"},
                   directory=tmp_path)  # fmt: skip
    config = parsed(s.path)
    assert (config.gcp.project, config.gcp.region, config.gpu) == ("my-proj-42", "europe-west4", True)
    [k] = scaffold("kubernetes", stack="k", values={"workers": "6", "context": "", "model": "Qwen/Qwen3-8B"},
                   directory=tmp_path)  # fmt: skip
    cluster = parsed(k.path).kubernetes
    assert (cluster.workers, cluster.context, cluster.model.id) == (6, None, "Qwen/Qwen3-8B")  # "" leaves the default


def test_without_a_terminal_missing_values_fail_naming_every_flag_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(HelixFlowError) as err:
        scaffold("multi-cloud", stack="m", values={}, directory=tmp_path)
    assert "--aws-region" in err.value.message and "--gcp-project" in err.value.message
    assert "--gcp-region" not in err.value.message  # it has a default
    assert err.value.hint == "e.g. helixflow init multi-cloud --aws-region AWS_REGION --gcp-project GCP_PROJECT"
    assert not list(tmp_path.iterdir())


def test_on_a_terminal_each_value_not_given_is_asked_for(tmp_path: Path) -> None:
    asked: list[str] = []

    def ask(name: str, parameter: Parameter) -> str:
        asked.append(name)
        return {"gcp_project": "asked-proj-1", "gcp_region": ""}.get(name, "")

    [s] = scaffold("gcp-gpu", stack="g", values={"aws_region": None}, ask=ask, directory=tmp_path)
    assert asked == ["gcp_project", "gcp_region"]
    config = parsed(s.path)
    assert (config.gcp.project, config.gcp.region) == ("asked-proj-1", "us-central1")


def test_a_bad_value_is_refused_by_the_model_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(HelixFlowError) as err:
        scaffold("aws-gpu", stack="a", values={"aws_region": "mars-north"}, directory=tmp_path)
    assert "helixflow:aws.region" in err.value.message and err.value.hint and "--aws-region" in err.value.hint
    with pytest.raises(HelixFlowError, match="--workers must be a whole number"):
        scaffold("local", values={"workers": "many"}, directory=tmp_path)
    with pytest.raises(HelixFlowError, match=r"helixflow:local\.workers"):
        scaffold("local", values={"workers": "99"}, directory=tmp_path)
    with pytest.raises(HelixFlowError, match="invalid stack name"):
        scaffold("local", stack="../etc", directory=tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_flag_the_template_does_not_take_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HelixFlowError, match="does not take --gcp-project") as err:
        scaffold("local", values={"gcp_project": "x-proj-1"}, directory=tmp_path)
    assert err.value.hint == "it takes: --workers"


def test_an_unknown_template_has_a_did_you_mean(tmp_path: Path) -> None:
    with pytest.raises(HelixFlowError, match="did you mean 'aws-gpu'") as err:
        scaffold("aws-gpus", directory=tmp_path)
    assert err.value.hint and "multi-cloud" in err.value.hint


def test_an_existing_file_needs_force_and_a_refusal_writes_none_of_the_files(tmp_path: Path) -> None:
    existing = tmp_path / "Pulumi.m-gcp.yaml"
    existing.write_text("config: {}\n")
    with pytest.raises(HelixFlowError, match="already exists") as err:
        scaffold("multi-cloud", stack="m", values=REQUIRED, directory=tmp_path)  # type: ignore[arg-type]
    assert err.value.hint and "--force" in err.value.hint
    assert existing.read_text() == "config: {}\n" and not (tmp_path / "Pulumi.m-aws.yaml").exists()
    scaffold("multi-cloud", stack="m", values=REQUIRED, directory=tmp_path, force=True)  # type: ignore[arg-type]
    assert parsed(existing).target == "gcp" and parsed(tmp_path / "Pulumi.m-aws.yaml").target == "aws"


def test_every_template_parameter_has_a_cli_flag() -> None:
    options = {name for name in inspect.signature(init_command).parameters}
    assert set(all_parameters()) <= options, "add an option to cli/commands/init.py for each template parameter"
    assert all(flag(p).startswith("--") for p in all_parameters())


def test_the_cli_writes_where_up_reads_and_fails_cleanly_without_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert run(["init", "aws-gpu", "--stack", "edge"]) == 1
    assert "needs --aws-region" in capsys.readouterr().err
    assert run(["init", "aws-gpu", "--stack", "edge", "--aws-region", "us-west-2", "--json"]) == 0
    [written] = json.loads(capsys.readouterr().out)
    assert written["path"] == str(tmp_path / "project" / "Pulumi.edge.yaml")
    config = StackDriver("edge").load_config()  # what `helixflow up -s edge` would read
    assert config.target == "aws" and config.aws.region == "us-west-2"  # type: ignore[union-attr]
    assert run(["init", "aws-gpu", "--stack", "edge", "--aws-region", "us-west-2"]) == 1
    assert "--force" in capsys.readouterr().err
