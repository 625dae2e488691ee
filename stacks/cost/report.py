"""What an estimate says: one line per priced (or deliberately unpriced) resource, and the totals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from helixflow.stacks.errors import HelixFlowError

Status = Literal["priced", "free", "unpriced"]


@dataclass(frozen=True)
class CostLine:
    """A resource's monthly cost: `low` at the minimum of its range (autoscaling, capacity), `high` at the maximum.

    `status` "unpriced" means the estimate could not price it (`note` says why and what to add);
    such a line is never counted as zero in silence: the report's `unpriced` lists it.
    """

    resource: str
    type: str
    category: str
    status: Status
    low: float = 0.0
    high: float = 0.0
    detail: str = ""  # how the figure was made: "2-8 x g6.12xlarge on-demand at $4.60/h"
    note: str = ""  # an assumption, or why the line is unpriced


@dataclass(frozen=True)
class CostReport:
    cloud: str
    region: str
    currency: str
    prices_source: str
    prices_date: str
    lines: list[CostLine] = field(default_factory=list)

    @property
    def low(self) -> float:
        return round(sum(line.low for line in self.lines), 2)

    @property
    def high(self) -> float:
        return round(sum(line.high for line in self.lines), 2)

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if line.status == "unpriced"]

    def by_category(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, tuple[float, float]] = {}
        for line in self.lines:
            low, high = totals.get(line.category, (0.0, 0.0))
            totals[line.category] = (round(low + line.low, 2), round(high + line.high, 2))
        return totals

    def to_json(self) -> dict[str, Any]:
        """The `cost` section of `plan --json`; `from_json` reads it back (for `--diff`)."""
        return {
            "cloud": self.cloud, "region": self.region, "currency": self.currency,
            "prices": {"source": self.prices_source, "date": self.prices_date},
            "total_per_month": {"low": self.low, "high": self.high},
            "unpriced": [line.resource for line in self.unpriced],
            "lines": [asdict(line) for line in self.lines],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Any, origin: str = "the saved plan") -> CostReport:
        """Raises HelixFlowError when `data` is not a cost section written by `to_json`."""
        if isinstance(data, dict) and isinstance(data.get("cost"), dict):
            data = data["cost"]  # a whole `plan --json` document
        try:
            prices = data["prices"]
            lines = [CostLine(**line) for line in data["lines"]]
            return cls(cloud=data["cloud"], region=data["region"], currency=data["currency"],
                       prices_source=prices["source"], prices_date=prices["date"], lines=lines)  # fmt: skip
        except (KeyError, TypeError) as error:
            raise HelixFlowError(
                f"{origin} has no readable cost section ({type(error).__name__}: {error})",
                hint="save one with `helixflow plan --cost --json > plan.json` and pass that file to --diff",
            ) from None
