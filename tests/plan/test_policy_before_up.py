"""`up` runs the policy pack over the stack's plan first: a mandatory violation stops it before the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helixflow.stacks.driver import StackDriver, load_config_file
from helixflow.stacks.errors import HelixFlowError

pytestmark = pytest.mark.unit
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aws-gpu" / "Pulumi.gpu-prod.yaml"


def example_with(tmp_path: Path, **aws: object) -> Path:
    document = yaml.safe_load(EXAMPLE.read_text())
    document["config"]["helixflow:aws"] |= aws
    path = tmp_path / "Pulumi.gpu-prod.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_mandatory_violation_stops_up_naming_the_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path / "home"))
    path = example_with(tmp_path, deletion_protection=False)
    driver = StackDriver("gpu-prod", config_file=path)
    with pytest.raises(HelixFlowError) as err:
        driver.check_policies(load_config_file(path))
    assert "data-store-deletion-safety" in err.value.message


def test_the_shipped_example_passes_every_mandatory_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path / "home"))
    StackDriver("gpu-prod", config_file=EXAMPLE).check_policies(load_config_file(EXAMPLE))
