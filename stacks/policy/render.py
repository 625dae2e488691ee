"""A rich table of a policy report (`plan` prints it; `plan --json` uses PolicyReport.to_json)."""

from __future__ import annotations

from rich.table import Table

from helixflow.stacks.policy.evaluate import PolicyReport


def render_policy(report: PolicyReport) -> Table:
    failed = len(report.mandatory)
    title = "Policy: passed" if report.passed else f"Policy: {failed} mandatory violation{'s' * (failed > 1)}"
    table = Table(title=f"{title}, {len(report.advisory)} advisory", title_justify="left")
    for column in ("level", "rule", "resource", "what", "fix"):
        table.add_column(column, overflow="fold")
    for v in sorted(report.violations, key=lambda v: (v.level != "mandatory", v.rule, v.resource)):
        level = "[red]mandatory[/red]" if v.level == "mandatory" else "[yellow]advisory[/yellow]"
        table.add_row(level, v.rule, f"{v.resource} ({v.type})", v.message, v.fix)
    return table
