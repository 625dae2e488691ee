"""The configuration reference in docs/ is generated from the stack model and kept current: regenerated
here and compared, with every setting of every target in it, and a schema that accepts what `init` writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, Field

from helixflow.cli.main import run
from helixflow.stacks.config import STACK_MODELS, split_namespace
from helixflow.stacks.config.reference import REGENERATE, generated, markdown, rows
from helixflow.stacks.scaffold.init import scaffold

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("relative", sorted(generated()))
def test_the_committed_reference_is_current(relative: str) -> None:
    path = ROOT / relative
    assert path.exists(), f"{relative} is missing: run `{REGENERATE}`"
    assert path.read_text() == generated()[relative], f"{relative} is stale: run `{REGENERATE}` and commit it"


def test_every_setting_of_every_target_has_a_row_with_type_default_and_description() -> None:
    page = markdown()
    for target, model in STACK_MODELS.items():
        assert f"## Target `{target}`" in page
        for key, kind, default, _ in rows(model):
            assert f"| `{key}` | {kind.replace('|', chr(92) + '|')} | {default} |" in page, key
    assert "| `local.ports.https` | int | `8443` | nginx, TLS with HTTP/2" in page
    assert '| `kubernetes.gpu_pool.node_selector` | map of str to str | `{"nvidia.com/gpu.present": "true"}` |' in page


def test_rows_flatten_nested_sections_and_read_types_defaults_and_limits() -> None:
    class Inner(BaseModel):
        port: int = Field(80, ge=1, le=65535, description="where it listens")

    class Outer(BaseModel):
        mode: Literal["a", "b"] = "a"
        name: str | None = None
        needed: str
        inner: Inner = Inner()

    assert list(rows(Outer)) == [
        ("mode", "one of: `a`, `b`", "`a`", ""),
        ("name", "str or null", "unset", ""),
        ("needed", "str", "required", ""),
        ("inner.port", "int", "`80`", "where it listens (≥ 1, ≤ 65535)"),
    ]


def test_the_schema_file_is_what_config_schema_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads((ROOT / "docs" / "stack.schema.json").read_text())


def test_the_schema_accepts_every_template_and_refuses_an_unknown_key(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "docs" / "stack.schema.json").read_text())
    values = {"aws_region": "eu-west-1", "gcp_project": "proj-12345"}
    for written in scaffold("multi-cloud", stack="m", values=values, directory=tmp_path):  # type: ignore[arg-type]
        settings = split_namespace(yaml.safe_load(written.path.read_text())["config"])[0]
        jsonschema.validate(settings, schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**settings, "aws": {"regoin": "eu-west-1"}}, schema)
