"""The stack configuration model: defaults, validation messages, JSON Schema."""

from __future__ import annotations

import jsonschema
import pytest

from helixflow.stacks.config import LocalStack, json_schema, parse_config, split_namespace
from helixflow.stacks.errors import HelixFlowError


def test_defaults_are_the_local_target() -> None:
    config = parse_config({})
    assert isinstance(config, LocalStack) and config.target == "local"
    assert config.local.worker_ports() == [30001, 30002]
    assert config.local.ports.https == 8443


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"local": {"workres": 3}}, "helixflow:local.workres: unknown key (did you mean 'workers'?)"),
        ({"tagret": "local"}, "helixflow:tagret: unknown key (did you mean 'target'?)"),
        ({"local": {"ports": {"gatway": 1}}}, "helixflow:local.ports.gatway: unknown key (did you mean 'gateway'?)"),
        ({"target": "azure"}, "unknown target 'azure'; valid targets: local, kubernetes, aws, gcp"),
        ({"local": {"ports": {"gateway": 8081}}}, "ports.auth and ports.gateway are both 8081"),
        ({"local": {"workers": 0}}, "helixflow:local.workers: Input should be greater than or equal to 1"),
        ({"local": {"ports": {"redis": 80}}}, "local.ports.redis: Input should be greater than or equal to 1024"),
        ({"local": {"model_path": "/nonexistent.gguf"}}, "is not a file"),
        ({"local": {"admin_tenant": "Bad Name"}}, "helixflow:local.admin_tenant"),
    ],
)
def test_invalid_values_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(HelixFlowError) as err:
        parse_config(values)
    assert message in err.value.message
    assert err.value.hint


def test_worker_ports_may_not_collide_with_other_roles() -> None:
    with pytest.raises(HelixFlowError, match="worker 1"):
        parse_config({"local": {"ports": {"worker_base": 9089}}})  # worker 1 would take prometheus' 9090


def test_strings_from_pulumi_config_are_coerced() -> None:
    """`pulumi config set --path` stores numbers as strings."""
    config = parse_config({"local": {"workers": "3", "ports": {"https": "9443"}}})
    assert isinstance(config, LocalStack)
    assert config.local.workers == 3 and config.local.ports.https == 9443


def test_split_namespace_separates_generated_secrets() -> None:
    settings, secrets = split_namespace(
        {
            "helixflow:local": {"workers": 1},
            "helixflow:postgresPassword": {"secure": "v1:abc"},
            "aws:region": "eu-west-1",
        }
    )
    assert settings == {"local": {"workers": 1}}
    assert set(secrets) == {"postgresPassword"}


def test_json_schema_is_generated_and_agrees_with_the_model() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(LocalStack().model_dump()))
    assert list(validator.iter_errors({"local": {"workres": 1}}))  # unknown keys are refused there too
    assert list(validator.iter_errors({"local": {"workers": 0}}))
