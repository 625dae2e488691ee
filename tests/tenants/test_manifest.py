"""The tenants YAML file `tenant apply` reads: its model and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.tenants.manifest import load_manifest, parse_manifest


def test_a_file_of_tenants_is_read(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text("platform: prod\ntenants:\n  - name: acme\n    plan: free\n  - name: globex\n    gpus: 2\n")
    manifest = load_manifest(path)
    assert manifest.platform == "prod"
    assert [(t.name, t.plan, t.gpus) for t in manifest.tenants] == [("acme", "free", 0), ("globex", "standard", 2)]


def test_an_empty_list_is_a_valid_desire() -> None:
    assert parse_manifest({"tenants": []}, "f.yaml").tenants == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"tenants": [{"name": "acme"}, {"name": "acme"}]}, "acme listed more than once"),
        ({"tenants": [{"name": "ok"}, {"name": "Bad"}]}, "tenants.1.name: a tenant name is"),
        ({"tenants": [{"name": "acme", "rpm": 5}]}, "tenants.0.rpm: unknown key"),
        ({"tenant": []}, "tenant: unknown key"),
        ({}, "tenants: Field required"),
        (["acme"], "expected a mapping with a `tenants:` list"),
    ],
)
def test_a_bad_file_is_refused_saying_where(document: object, expected: str) -> None:
    with pytest.raises(HelixFlowError, match=r"f\.yaml") as err:
        parse_manifest(document, "f.yaml")
    assert expected in err.value.message


def test_a_file_that_is_not_yaml_or_not_there_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("tenants: [\n")
    with pytest.raises(HelixFlowError, match="is not valid YAML"):
        load_manifest(broken)
    with pytest.raises(HelixFlowError, match="cannot read"):
        load_manifest(tmp_path / "missing.yaml")
