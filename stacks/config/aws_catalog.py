"""The AWS GPU catalog (data/aws.yaml): GPUs, the instance types carrying them, the regions offering them.

Read once per process; every check of an `aws:` section against it names the valid choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class GpuOffer:
    """One GPU model on AWS: memory per GPU, instance type -> GPUs per node, regions offering it."""

    name: str
    memory_gib: int
    instance_types: dict[str, int]
    regions: tuple[str, ...]

    def types_with(self, gpus_per_node: int) -> list[str]:
        """The instance types carrying this many of this GPU (interchangeable for a spot pool)."""
        return [name for name, count in self.instance_types.items() if count == gpus_per_node]


@dataclass(frozen=True)
class AwsCatalog:
    source: str
    checked: str
    zones: dict[str, tuple[str, ...]]  # region -> its zone names (us-east-1a, ...)
    gpus: dict[str, GpuOffer]

    def gpu(self, name: str) -> GpuOffer:
        """Raises ValueError naming the valid GPUs."""
        offer = self.gpus.get(name)
        if offer is None:
            raise ValueError(f"unknown GPU {name!r}; valid GPUs: {', '.join(self.gpus)}")
        return offer

    def require_region(self, region: str) -> None:
        if region not in self.zones:
            raise ValueError(f"region {region!r} is not in HelixFlow's AWS catalog; valid regions: "
                             f"{', '.join(self.zones)}")  # fmt: skip


def _offer(name: str, entry: dict[str, Any]) -> GpuOffer:
    return GpuOffer(name=name, memory_gib=int(entry["memory_gib"]),
                    instance_types={str(k): int(v) for k, v in entry["instance_types"].items()},
                    regions=tuple(entry["regions"]))  # fmt: skip


@cache
def aws_catalog() -> AwsCatalog:
    text = resources.files("helixflow.stacks.config.data").joinpath("aws.yaml").read_text()
    document = yaml.safe_load(text)
    zones = {region: tuple(f"{region}{letter}" for letter in letters)
             for region, letters in document["regions"].items()}  # fmt: skip
    gpus = {name: _offer(name, entry) for name, entry in document["gpus"].items()}
    return AwsCatalog(source=document["source"], checked=str(document["checked"]), zones=zones, gpus=gpus)
