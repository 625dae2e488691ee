"""Rich tables and JSON for cost reports and diffs (the CLI prints what these return)."""

from __future__ import annotations

import json

from rich.table import Table

from helixflow.stacks.cost.diff import CostDiff
from helixflow.stacks.cost.report import CostReport


def _money(value: float, currency: str = "USD") -> str:
    return f"${value:,.2f}" if currency == "USD" else f"{value:,.2f} {currency}"


def _range(low: float, high: float, currency: str) -> str:
    return _money(low, currency) if low == high else f"{_money(low, currency)} - {_money(high, currency)}"


def render_report(report: CostReport) -> Table:
    """Priced and unpriced lines one by one; free resources counted in one line."""
    table = Table(title=f"Monthly cost, {report.cloud} {report.region} (prices: {report.prices_source}, "
                        f"{report.prices_date})", title_justify="left")  # fmt: skip
    for column in ("category", "resource", "per month", "how", "note"):
        table.add_column(column, overflow="fold")
    shown = sorted((line for line in report.lines if line.status != "free"), key=lambda line: (line.category,
                                                                                                line.resource))
    for line in shown:
        figure = "[red]not priced[/red]" if line.status == "unpriced" else _range(line.low, line.high, report.currency)
        table.add_row(line.category, line.resource, figure, line.detail, line.note)
    free = len(report.lines) - len(shown)
    if free:
        table.add_row("free", f"{free} resources", _money(0, report.currency), "no charge of their own", "")
    table.add_section()
    table.add_row("total", "", _range(report.low, report.high, report.currency), "at minimum - at maximum scale",
                  f"{len(report.unpriced)} lines not priced" if report.unpriced else "")  # fmt: skip
    return table


def render_report_json(report: CostReport) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=True)


def render_diff(change: CostDiff) -> Table:
    currency = change.new.currency
    table = Table(title=f"Cost change: {_range(change.old.low, change.old.high, currency)} → "
                        f"{_range(change.new.low, change.new.high, currency)} a month "
                        f"({change.growth_percent():+g}%)", title_justify="left")  # fmt: skip
    for column in ("change", "resource", "type", "before", "after", "delta"):
        table.add_column(column, overflow="fold")
    for item in change.changes:
        table.add_row(item.change, item.resource, item.type, _money(item.old_high, currency),
                      _money(item.new_high, currency), f"{'+' if item.delta >= 0 else '-'}"
                      f"{_money(abs(item.delta), currency)}")  # fmt: skip
    return table


def render_diff_json(change: CostDiff) -> str:
    return json.dumps(change.to_json(), indent=2, sort_keys=True)
