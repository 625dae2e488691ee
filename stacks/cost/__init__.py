"""A plan's monthly cost: `estimate(resources, load_prices(cloud, override), region)` → CostReport.

`estimate_stack(resources, config, prices_file)` does the same from a stack's configuration.
`diff(saved_json, report)` → CostDiff and `fail_over_exit_code(diff, percent)` serve
`plan --cost --diff OLD.json --fail-over PERCENT` (see helixflow.stacks.cost.diff for the wiring).
"""

from __future__ import annotations

from helixflow.stacks.cost.diff import FAIL_OVER_EXIT, CostDiff, LineChange, diff, fail_over_exit_code
from helixflow.stacks.cost.estimate import estimate
from helixflow.stacks.cost.prices import PriceTable, load_prices
from helixflow.stacks.cost.render import render_diff, render_diff_json, render_report, render_report_json
from helixflow.stacks.cost.report import CostLine, CostReport
from helixflow.stacks.cost.stack import estimate_stack

__all__ = [
    "FAIL_OVER_EXIT", "CostDiff", "CostLine", "CostReport", "LineChange", "PriceTable", "diff", "estimate",
    "estimate_stack", "fail_over_exit_code", "load_prices", "render_diff", "render_diff_json", "render_report",
    "render_report_json",
]  # fmt: skip
