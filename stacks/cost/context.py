"""What a price rule reads: the table, the region of the resource, the rest of the plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helixflow.stacks.cost.prices import MachinePrice, PriceTable, RegionPrices
from helixflow.stacks.cost.report import CostLine
from helixflow.stacks.plan.model import PlannedResource


class MissingPrice(Exception):
    """A rule needs a figure the table lacks; the estimate turns it into an unpriced line."""

    def __init__(self, what: str, region: str) -> None:
        super().__init__(f"no price for {what} in {region}")
        self.what = what
        self.region = region


@dataclass(frozen=True)
class PricingContext:
    prices: PriceTable
    region: str  # the plan's region; a resource's own `region` input wins
    resources: tuple[PlannedResource, ...]

    @property
    def hours(self) -> float:
        return self.prices.hours_per_month

    def region_of(self, resource: PlannedResource) -> str:
        own = resource.properties.get("region")
        return own if isinstance(own, str) and own else self.region

    def table(self, resource: PlannedResource) -> RegionPrices:
        return self.prices.region(self.region_of(resource))

    def rate(self, resource: PlannedResource, name: str) -> float:
        rates = self.table(resource).rates
        if name not in rates:
            raise MissingPrice(f"rates.{name}", self.region_of(resource))
        return rates[name]

    def machine(self, resource: PlannedResource, machine_type: str) -> MachinePrice:
        machines = self.table(resource).machines
        if machine_type not in machines:
            raise MissingPrice(f"machines.{machine_type}", self.region_of(resource))
        return machines[machine_type]

    def hourly(self, resource: PlannedResource, machine_type: str, spot: bool) -> float:
        price = self.machine(resource, machine_type)
        if not spot:
            return price.on_demand
        if price.spot is None:
            raise MissingPrice(f"machines.{machine_type}.spot", self.region_of(resource))
        return price.spot

    def accelerator(self, resource: PlannedResource, kind: str, spot: bool) -> float:
        table = self.table(resource).accelerators
        if kind not in table or (spot and table[kind].spot is None):
            raise MissingPrice(f"accelerators.{kind}{'.spot' if spot else ''}", self.region_of(resource))
        price = table[kind]
        return (price.spot or 0.0) if spot else price.on_demand

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [resource for resource in self.resources if resource.type == type_token]


def line(resource: PlannedResource, category: str, low: float, high: float | None = None,
         detail: str = "", note: str = "") -> CostLine:  # fmt: skip
    """A priced line, rounded to cents; `high` defaults to `low` (a fixed cost)."""
    return CostLine(resource=resource.name, type=resource.type, category=category, status="priced",
                    low=round(low, 2), high=round(low if high is None else high, 2), detail=detail,
                    note=note)  # fmt: skip


def number(value: Any, default: float = 0.0) -> float:
    """A numeric input as mocks pass it (floats, sometimes strings); unknown outputs count as the default."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return default
    return default


def dig(properties: dict[str, Any], *path: str) -> Any:
    """properties[path[0]][path[1]]..., or None where a step is missing or not a mapping."""
    value: Any = properties
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
