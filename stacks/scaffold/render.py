"""Filling a template: its values from flags or prompts, each stack validated by the stack model, then
the files written (all or none: an existing file is refused, without --force, before any is written)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from helixflow.stacks.config import parse_config, split_namespace
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import STACK_NAME_PATTERN
from helixflow.stacks.scaffold.catalog import Parameter, StackTemplate, Value, flag

Ask = Callable[[str, Parameter], Value]  # (parameter name, parameter) -> the answer typed on a terminal
_PLACEHOLDER = re.compile(r"^\{(\w+)\}$")


@dataclass(frozen=True)
class ScaffoldedStack:
    name: str
    path: Path
    target: str
    document: dict[str, Any]  # what the file holds: {"config": {...}}


def resolve_values(template: StackTemplate, given: dict[str, Value | None], ask: Ask | None) -> dict[str, Value]:
    """The template's values: given as flags, else asked (on a terminal), else their defaults.
    Raises HelixFlowError for a flag the template does not take, or (no terminal) every required one missing."""
    unknown = sorted(name for name, value in given.items() if value is not None and name not in template.parameters)
    if unknown:
        takes = ", ".join(flag(p) for p in template.parameters) or "no values"
        raise HelixFlowError(f"template {template.name!r} does not take {', '.join(map(flag, unknown))}",
                             hint=f"it takes: {takes}")  # fmt: skip
    values: dict[str, Value] = {}
    missing = []
    for name, parameter in template.parameters.items():
        raw = given.get(name)
        if raw is None and ask is not None:
            raw = ask(name, parameter)
        if raw is None:
            raw = parameter.default
        if raw is None or (parameter.required and str(raw).strip() == ""):
            missing.append(name)
            continue
        values[name] = parameter.coerce(name, raw)
    if missing:
        needed = " ".join(f"{flag(m)} {m.upper()}" for m in missing)
        raise HelixFlowError(
            f"template {template.name!r} needs {', '.join(map(flag, missing))} (no terminal to ask on)",
            hint=f"e.g. helixflow init {template.name} {needed}",
        )
    return values


def _fill(node: Any, values: dict[str, Value]) -> Any:
    """The template's config tree with its placeholders replaced; a key whose value is empty is left out."""
    if isinstance(node, dict):
        filled = {key: _fill(value, values) for key, value in node.items()}
        return {k: v for k, v in filled.items() if v not in ("", None, {})}
    if isinstance(node, str):
        match = _PLACEHOLDER.match(node)
        if match:
            return values[match.group(1)]
        return node.format(**values)
    return node


def render(template: StackTemplate, stack: str, values: dict[str, Value], directory: Path) -> list[ScaffoldedStack]:
    """Each stack the template writes, validated. Raises HelixFlowError naming the bad value and its flag."""
    scaffolded = []
    for pattern, config in template.stacks.items():
        name = pattern.format(stack=stack)
        if not re.fullmatch(STACK_NAME_PATTERN, name):
            raise HelixFlowError(
                f"invalid stack name {name!r}",
                hint="--stack takes letters, digits, '-', '_' or '.', starting with a letter or digit",
            )
        filled = _fill(config, values)
        settings, _ = split_namespace(filled)
        try:
            parsed = parse_config(settings, source=f"stack {name!r} from template {template.name!r}")
        except HelixFlowError as err:
            given = ", ".join(f"{flag(k)}={v!r}" for k, v in values.items())
            raise HelixFlowError(err.message, hint=f"check the values ({given})") from None
        scaffolded.append(ScaffoldedStack(name, directory / f"Pulumi.{name}.yaml", str(parsed.target),
                                          {"config": filled}))  # fmt: skip
    return scaffolded


def write(template: StackTemplate, stacks: list[ScaffoldedStack], force: bool) -> None:
    """Writes every file, after refusing (unless force) if any of them exists."""
    existing = [str(s.path) for s in stacks if s.path.exists()]
    if existing and not force:
        raise HelixFlowError(f"{', '.join(existing)} already exists",
                             hint="add --force to overwrite it, or choose another --stack")  # fmt: skip
    for s in stacks:
        s.path.parent.mkdir(parents=True, exist_ok=True)
        header = (f"# Stack '{s.name}' (target {s.target}), scaffolded by `helixflow init {template.name}`.\n"
                  f"# Change a setting with `helixflow config set -s {s.name} KEY VALUE`; "
                  "docs/configuration.md lists them all.\n")  # fmt: skip
        body = header + yaml.safe_dump(s.document, sort_keys=False)
        fd, temporary = tempfile.mkstemp(dir=s.path.parent, prefix=f".{s.path.name}.")
        with os.fdopen(fd, "w") as handle:
            handle.write(body)
        os.replace(temporary, s.path)  # a reader never sees half a file
