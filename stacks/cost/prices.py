"""Price tables: one data file per cloud shipped in stacks/cost/data, overridable by the user's own.

Schema (YAML; the override file uses the same keys and may hold only the ones it changes):

    cloud: aws                      # aws | gcp
    currency: USD
    source: "where the figures come from"
    date: "2026-11-20"              # when they were read
    hours_per_month: 730
    assumptions:                    # usage a plan cannot know; each line using one says so
      nat_gb_per_month: 1000        # data processed by each NAT gateway
      load_balancer_gb_per_month: 1000
      bucket_gb: 500                # stored in each bucket
      log_gb_per_month: 20          # ingested by each log group (GKE: by the cluster)
      backup_extra_ratio: 0.5       # backup storage beyond the free allowance, x allocated storage
    regions:
      us-east-1:
        machines:                   # hourly; VM, database and cache node types alike
          m6i.large: {on_demand: 0.096, spot: 0.037}
          a3-highgpu-8g: {on_demand: 88.25, spot: 29.6, includes_accelerators: true}
        accelerators:               # hourly, per GPU attached to a machine that does not include it
          nvidia-tesla-t4: {on_demand: 0.35, spot: 0.14}
        rates:                      # named unit prices: `<what>_<unit>` (hour, gb_month, gb, month)
          cluster_hour: 0.10

An override is merged key by key over the shipped table (negotiated prices, committed-use
discounts, another region), then the whole is validated.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helixflow.stacks.errors import HelixFlowError

CLOUDS = ("aws", "gcp")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: 10x faster than the pure-Python one


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MachinePrice(_Strict):
    on_demand: float = Field(ge=0)
    spot: float | None = Field(None, ge=0)
    includes_accelerators: bool = False  # GCP accelerator-optimized types (a2, a3, g2) bill their GPUs in the price


class RegionPrices(_Strict):
    machines: dict[str, MachinePrice] = {}
    accelerators: dict[str, MachinePrice] = {}
    rates: dict[str, float] = {}


class Assumptions(_Strict):
    nat_gb_per_month: float = Field(1000, ge=0)
    load_balancer_gb_per_month: float = Field(1000, ge=0)
    bucket_gb: float = Field(500, ge=0)
    log_gb_per_month: float = Field(20, ge=0)
    backup_extra_ratio: float = Field(0.5, ge=0)


class PriceTable(_Strict):
    cloud: str = Field(pattern="^(aws|gcp)$")
    currency: str = "USD"
    source: str = Field(min_length=3)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    hours_per_month: float = Field(730, gt=0)
    assumptions: Assumptions = Assumptions()
    regions: dict[str, RegionPrices]

    def region(self, name: str) -> RegionPrices:
        """Raises HelixFlowError when the table has no prices for `name`."""
        if name not in self.regions:
            raise HelixFlowError(
                f"the {self.cloud} price table ({self.source}, {self.date}) has no prices for region {name!r}; "
                f"it has {', '.join(sorted(self.regions))}",
                hint=f"add `regions: {{{name}: ...}}` to your price file (schema: helixflow.stacks.cost.prices)",
            )
        return self.regions[name]


def shipped_table_path(cloud: str) -> Path:
    return Path(str(resources.files("helixflow.stacks.cost") / "data" / f"{cloud}.yaml"))


def load_prices(cloud: str, override: Path | None = None) -> PriceTable:
    """The shipped table of `cloud`, with the user's file merged over it.

    Raises HelixFlowError for an unknown cloud, an unreadable file or one that breaks the schema.
    """
    if cloud not in CLOUDS:
        raise HelixFlowError(f"no price table for cloud {cloud!r}", hint=f"choose one of {', '.join(CLOUDS)}")
    data = _read(shipped_table_path(cloud))
    if override is not None:
        extra = _read(override)
        if extra.get("cloud", cloud) != cloud:
            raise HelixFlowError(f"{override} prices cloud {extra['cloud']!r}, but this stack runs on {cloud!r}",
                                 hint=f"set `cloud: {cloud}` in that file, or pass one made for {cloud}")  # fmt: skip
        data = merge(data, extra)
    try:
        return PriceTable.model_validate(data)
    except ValidationError as error:
        where = str(override) if override else f"the shipped {cloud} table"
        first = error.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        raise HelixFlowError(f"price file {where}: {path}: {first['msg']}",
                             hint="see the schema in helixflow.stacks.cost.prices") from None  # fmt: skip


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, mappings merged key by key (a region's one changed machine keeps the others)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_LOADER)
    except OSError as error:
        raise HelixFlowError(f"cannot read price file {path}: {error.strerror}", hint="check the path") from None
    except yaml.YAMLError as error:
        raise HelixFlowError(f"price file {path} is not valid YAML: {error}", hint="fix its syntax") from None
    if not isinstance(data, dict):
        raise HelixFlowError(f"price file {path} is not a mapping", hint="start it with `cloud:` and `regions:`")
    return data
