"""The configuration reference, generated from the stack model: `docs/configuration.md` (one section per
target, every setting with its type, default and description) and `docs/stack.schema.json`.

`scripts/gen_docs.py` writes both; a unit test regenerates them and fails when the files are stale.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

from helixflow.stacks.config import STACK_MODELS, StackBase, json_schema

MARKDOWN_FILE = "docs/configuration.md"
SCHEMA_FILE = "docs/stack.schema.json"
REGENERATE = "python scripts/gen_docs.py"


def type_name(annotation: Any) -> str:
    """A field's type as a reader writes it: `int`, `str or null`, `one of: a, b`, `map of str to str`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of: " + ", ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        nullable = type(None) in typing.get_args(annotation)
        return " or ".join(parts) + (" or null" if nullable else "")
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"map of {type_name(key)} to {type_name(value)}"
    if origin is list:
        return f"list of {type_name(typing.get_args(annotation)[0])}"
    return getattr(annotation, "__name__", str(annotation))


def constraints(field: FieldInfo) -> str:
    counted = (
        "item(s)"
        if list in (typing.get_origin(a) for a in (field.annotation, *typing.get_args(field.annotation)))
        else "character(s)"
    )
    found = []
    for item in field.metadata:
        for attribute, words in (("ge", "≥ {}"), ("gt", "> {}"), ("le", "≤ {}"), ("lt", "< {}"),
                                 ("min_length", f"at least {{}} {counted}"), ("max_length", f"at most {{}} {counted}"),
                                 ("pattern", "matches `{}`")):  # fmt: skip
            value = getattr(item, attribute, None)
            if value is not None:
                found.append(words.format(value))
    return ", ".join(found)


def default_of(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, str):
        return f"`{value}`"
    return f"`{json.dumps(to_jsonable_python(value))}`"  # models (list items) as their JSON


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _list_item_model(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) is list:
        return _nested_model(typing.get_args(annotation)[0])
    return None


def rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(key as `helixflow config set` takes it, type, default, description) for every leaf setting."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        nested = _nested_model(field.annotation)
        if nested is not None:
            yield from rows(nested, f"{key}.")
            continue
        description = (field.description or "").strip()
        limits = constraints(field)
        if limits:
            description = f"{description} ({limits})" if description else limits
        yield key, type_name(field.annotation), default_of(field), description
        item = _list_item_model(field.annotation)
        if item is not None:  # a list of sections: each item's settings, as `key[].setting`
            yield from rows(item, f"{key}[].")


def _section(key: str) -> str:
    """The top-level setting a row belongs to: `policy` for `policy.advisory`, `aws` for `aws.gpu_pools[].gpu`."""
    return key.split(".", 1)[0].split("[", 1)[0]


def _table(entries: list[tuple[str, str, str, str]]) -> list[str]:
    lines = ["| setting | type | default | description |", "|---|---|---|---|"]
    for key, kind, default, description in entries:
        cells = [f"`{key}`", kind, default, description or "-"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def markdown() -> str:
    """docs/configuration.md."""
    from helixflow.stacks.targets import TARGETS

    shared = set(StackBase.model_fields)
    out = [
        "# Configuration reference",
        "",
        f"<!-- Generated from the stack model (stacks/config) by `{REGENERATE}`: do not edit by hand. -->",
        "",
        "A stack's settings live in `Pulumi.<stack>.yaml` under the `helixflow:` namespace (`helixflow init` "
        "writes one; `helixflow config set KEY VALUE` changes one setting; `helixflow config schema` prints "
        "the JSON Schema, also in `docs/stack.schema.json`). `helixflow:target` chooses the target, and a stack "
        'has that target\'s section only. An unknown key is refused with a "did you mean".',
        "",
        "## Shared settings (every target)",
        "",
        *_table([r for r in rows(StackBase) if _section(r[0]) in shared]),
    ]
    for name, model in STACK_MODELS.items():
        target = TARGETS[name]
        own = [r for r in rows(model) if _section(r[0]) not in shared]
        about = target.description[:1].upper() + target.description[1:]
        out += ["", f"## Target `{name}`", "", f"{about}.", "", *_table(own)]
        if target.unsupported:
            out += ["", "Not supported on this target (refused before anything runs):", ""]
            out += [f"- {feature}: {why}" for feature, why in target.unsupported.items()]
        reason = target.unavailable_reason()
        if reason:
            out += ["", f"Not deployable in this release: {reason}."]
    return "\n".join(out) + "\n"


def schema_json() -> str:
    """docs/stack.schema.json: the JSON Schema `helixflow config schema` prints."""
    return json.dumps(json_schema(), indent=2) + "\n"


def generated() -> dict[str, str]:
    """Each generated file (relative to the repository root) and its content."""
    return {MARKDOWN_FILE: markdown(), SCHEMA_FILE: schema_json()}
