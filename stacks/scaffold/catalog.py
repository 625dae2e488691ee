"""The templates `helixflow init` offers: their parameters and the stacks they write, read from YAML."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from helixflow.stacks.errors import HelixFlowError

Value = str | int


class Parameter(BaseModel):
    """One value a template needs: asked on a terminal, taken as `--<name>` otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str
    type: Literal["str", "int"] = "str"
    default: Value | None = None  # none: the value is required

    @property
    def required(self) -> bool:
        return self.default is None

    def coerce(self, name: str, raw: Value) -> Value:
        if self.type == "str":
            return str(raw).strip()
        try:
            return int(raw)
        except (TypeError, ValueError):
            hint = f"e.g. {flag(name)} 2"
            raise HelixFlowError(f"{flag(name)} must be a whole number, got {raw!r}", hint=hint) from None


class StackTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    parameters: dict[str, Parameter] = {}
    stacks: dict[str, dict[str, Any]]  # stack name pattern ("{stack}-aws") -> its config: map


def flag(parameter: str) -> str:
    return "--" + parameter.replace("_", "-")


def template_names() -> list[str]:
    folder = resources.files("helixflow.stacks.scaffold") / "templates"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def load_template(name: str) -> StackTemplate:
    """The template called name. Raises HelixFlowError listing the templates there are."""
    import difflib

    names = template_names()
    if name not in names:
        guess = difflib.get_close_matches(name, names, n=1)
        did_you_mean = f" (did you mean '{guess[0]}'?)" if guess else ""
        raise HelixFlowError(f"unknown template {name!r}{did_you_mean}", hint=f"one of: {', '.join(names)}")
    text = (resources.files("helixflow.stacks.scaffold") / "templates" / f"{name}.yaml").read_text()
    try:
        return StackTemplate.model_validate({"name": name, **yaml.safe_load(text)})
    except (ValidationError, yaml.YAMLError) as err:  # a packaging mistake, not the user's
        raise HelixFlowError(f"template {name!r} is malformed: {err}", hint="reinstall helixflow") from None


def all_parameters() -> dict[str, Parameter]:
    """Every parameter of every template (the CLI has one flag per name)."""
    found: dict[str, Parameter] = {}
    for name in template_names():
        found.update(load_template(name).parameters)
    return found
