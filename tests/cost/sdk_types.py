"""Resource type tokens as the installed Pulumi SDKs define them, and those HelixFlow's components create."""

from __future__ import annotations

import importlib
import inspect
import re
from functools import cache
from pathlib import Path

import pulumi

REPO = Path(__file__).resolve().parents[2]
SDK_PACKAGES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "kubernetes": "pulumi_kubernetes"}
ALIASES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "k8s": "pulumi_kubernetes", "kubernetes": "pulumi_kubernetes"}
CALL = re.compile(r"\b(aws|gcp|k8s|kubernetes)\.((?:[a-z0-9_]+\.)+)([A-Z][A-Za-z0-9]*)\(")
TOKEN = re.compile(r"""super\(\w+, __self__\).__init__\(\s*['"]([^'"]+)['"]""")  # aliases are listed before it


@cache
def _module_dir(package: str, module: str) -> Path:
    root = Path(importlib.util.find_spec(package).origin).parent  # type: ignore[union-attr,arg-type]
    return root.joinpath(*module.split("."))


def token_exists(token: str) -> bool:
    """Whether an installed SDK registers a resource with this exact type token."""
    return token.split(":")[0] in SDK_PACKAGES and _defining_file(token) is not None


def _defining_file(token: str) -> Path | None:
    provider, middle, _ = token.split(":")
    if provider == "kubernetes":  # kubernetes:apps/v1:Deployment, kubernetes:networking.k8s.io/v1:NetworkPolicy
        group, version = middle.split("/")
        module = f"{group.split('.')[0]}.{version}"
    else:
        module = middle.split("/")[0]
    folder = _module_dir(SDK_PACKAGES[provider], module)
    literal = f"'{token}'"
    return next((path for path in sorted(folder.glob("*.py")) if literal in path.read_text()), None)


def args_parameters(token: str) -> set[str]:
    """The keyword arguments of a resource's `…Args` class, read from the SDK's source (no import)."""
    path = _defining_file(token)
    name = token.rsplit(":", 1)[1]
    if path is None:
        return set()
    text = path.read_text()
    start = text.find(f"class {name}Args:")
    end = text.find("):", start)
    return set(re.findall(r"^\s+([a-z_0-9]+): ", text[start:end], re.MULTILINE)) if start >= 0 else set()


def component_types() -> dict[str, str]:
    """Every resource type a HelixFlow component creates (scanned from components/), with where it is."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "components").rglob("*.py")):
        for alias, module, name in CALL.findall(path.read_text()):
            if name.endswith("Args"):
                continue
            cls = getattr(importlib.import_module(ALIASES[alias] + "." + module.rstrip(".")), name, None)
            if inspect.isclass(cls) and issubclass(cls, pulumi.CustomResource):
                match = TOKEN.search(inspect.getsource(cls._internal_init))  # type: ignore[attr-defined]
                if match:
                    found.setdefault(match.group(1), str(path.relative_to(REPO)))
    return found
