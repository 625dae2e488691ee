"""`diff`: what a new plan changes in cost against a saved one, and the CI gate on its growth.

How the plan CLI wires it (the lead's `plan --cost --diff OLD.json --fail-over PERCENT`):

    report = estimate(resources, load_prices(cloud, prices_file), region)
    if diff_file:
        change = diff(json.loads(diff_file.read_text()), report)   # a saved `plan --json` or its cost section
        print(render_diff_json(change) if json_output else render_diff(change))
        raise typer.Exit(fail_over_exit_code(change, fail_over))   # 0, or FAIL_OVER_EXIT (5)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helixflow.stacks.cost.report import CostLine, CostReport
from helixflow.stacks.errors import HelixFlowError

FAIL_OVER_EXIT = 5  # `plan --fail-over PERCENT`: the total grew more than that


@dataclass(frozen=True)
class LineChange:
    resource: str
    type: str
    change: str  # "added" | "removed" | "changed"
    old_high: float
    new_high: float
    old_low: float = 0.0
    new_low: float = 0.0

    @property
    def delta(self) -> float:
        return round(self.new_high - self.old_high, 2)


@dataclass(frozen=True)
class CostDiff:
    old: CostReport
    new: CostReport
    changes: list[LineChange] = field(default_factory=list)

    @property
    def delta_low(self) -> float:
        return round(self.new.low - self.old.low, 2)

    @property
    def delta_high(self) -> float:
        return round(self.new.high - self.old.high, 2)

    def growth_percent(self) -> float:
        """How much the high total grew, in percent of the old one (infinite from a free stack to a paid one)."""
        if self.old.high == 0:
            return 0.0 if self.new.high == 0 else float("inf")
        return round(100 * self.delta_high / self.old.high, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "old_total_per_month": {"low": self.old.low, "high": self.old.high},
            "new_total_per_month": {"low": self.new.low, "high": self.new.high},
            "delta_per_month": {"low": self.delta_low, "high": self.delta_high},
            "growth_percent": self.growth_percent(),
            "changes": [{"resource": c.resource, "type": c.type, "change": c.change, "old_high": c.old_high,
                         "new_high": c.new_high, "delta": c.delta} for c in self.changes],
        }  # fmt: skip


def diff(old: dict[str, Any] | CostReport, new: CostReport) -> CostDiff:
    """Compare a saved report (the JSON of `plan --json`, or a CostReport) with a new one, line by line.

    Lines are matched by (resource, type); a resource with several lines is compared by its sum.
    Raises HelixFlowError when `old` is no cost report.
    """
    before = old if isinstance(old, CostReport) else CostReport.from_json(old)
    old_lines, new_lines = _by_resource(before.lines), _by_resource(new.lines)
    changes = []
    for key in sorted(old_lines.keys() | new_lines.keys()):
        was, now = old_lines.get(key), new_lines.get(key)
        if was is None and now is not None:
            changes.append(LineChange(*key, "added", 0.0, now[1], 0.0, now[0]))
        elif now is None and was is not None:
            changes.append(LineChange(*key, "removed", was[1], 0.0, was[0], 0.0))
        elif was is not None and now is not None and was != now:
            changes.append(LineChange(*key, "changed", was[1], now[1], was[0], now[0]))
    return CostDiff(old=before, new=new, changes=changes)


def _by_resource(lines: list[CostLine]) -> dict[tuple[str, str], tuple[float, float]]:
    sums: dict[tuple[str, str], tuple[float, float]] = {}
    for line in lines:
        low, high = sums.get((line.resource, line.type), (0.0, 0.0))
        sums[(line.resource, line.type)] = (round(low + line.low, 2), round(high + line.high, 2))
    return sums


def fail_over_exit_code(change: CostDiff, fail_over_percent: float | None) -> int:
    """FAIL_OVER_EXIT when the high total grew by more than `fail_over_percent`, else 0 (None: no gate).

    Raises HelixFlowError for a negative percentage.
    """
    if fail_over_percent is None:
        return 0
    if fail_over_percent < 0:
        raise HelixFlowError(f"--fail-over {fail_over_percent:g} is negative",
                             hint="give the growth in percent that CI allows, e.g. --fail-over 10")  # fmt: skip
    return FAIL_OVER_EXIT if change.growth_percent() > fail_over_percent else 0
