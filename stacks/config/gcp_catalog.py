"""The GCP GPU catalog (data/gcp.yaml): GPUs, the machine types carrying them, the zones offering them.

Read once per process; every check of a `gcp:` section against it names the valid choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class GpuOffer:
    """One GPU model on GCP: its accelerator type, machine type -> GPUs per node, zones offering it."""

    name: str
    accelerator: str
    memory_gib: int
    machine_types: dict[str, int]
    disk_type: str
    compact_placement: bool
    zones: tuple[str, ...]

    def zones_in(self, region: str) -> list[str]:
        return [zone for zone in self.zones if zone.rsplit("-", 1)[0] == region]

    @property
    def default_machine_type(self) -> str:
        return next(iter(self.machine_types))


@dataclass(frozen=True)
class GcpCatalog:
    source: str
    checked: str
    zones: dict[str, tuple[str, ...]]  # region -> its zones (us-central1-a, ...)
    gpus: dict[str, GpuOffer]
    not_offered: dict[str, str]  # GPU -> why GCP has none

    def gpu(self, name: str) -> GpuOffer:
        """Raises ValueError naming the valid GPUs (and why a well-known one is missing)."""
        offer = self.gpus.get(name)
        if offer is not None:
            return offer
        why = f" ({self.not_offered[name]})" if name in self.not_offered else ""
        raise ValueError(f"unknown GPU {name!r}{why}; valid GPUs: {', '.join(self.gpus)}")

    def require_region(self, region: str) -> None:
        if region not in self.zones:
            raise ValueError(f"region {region!r} is not in HelixFlow's GCP catalog; valid regions: "
                             f"{', '.join(self.zones)}")  # fmt: skip

    def require_zone(self, region: str, zone: str, where: str) -> None:
        if zone not in self.zones[region]:
            raise ValueError(f"{where}: {zone!r} is not a zone of {region}; valid: {', '.join(self.zones[region])}")

    def gpus_in(self, region: str) -> list[str]:
        return [offer.name for offer in self.gpus.values() if offer.zones_in(region)]


def _offer(name: str, entry: dict[str, Any]) -> GpuOffer:
    return GpuOffer(name=name, accelerator=str(entry["accelerator"]), memory_gib=int(entry["memory_gib"]),
                    machine_types={str(k): int(v) for k, v in entry["machine_types"].items()},
                    disk_type=str(entry["disk_type"]), compact_placement=bool(entry["compact_placement"]),
                    zones=tuple(entry["zones"]))  # fmt: skip


@cache
def gcp_catalog() -> GcpCatalog:
    text = resources.files("helixflow.stacks.config.data").joinpath("gcp.yaml").read_text()
    document = yaml.safe_load(text)
    zones = {region: tuple(f"{region}-{letter}" for letter in letters)
             for region, letters in document["regions"].items()}  # fmt: skip
    gpus = {name: _offer(name, entry) for name, entry in document["gpus"].items()}
    return GcpCatalog(source=document["source"], checked=str(document["checked"]), zones=zones, gpus=gpus,
                      not_offered={str(k): str(v) for k, v in (document.get("not_offered") or {}).items()})
