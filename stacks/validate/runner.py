"""Runs checks in order within one time bound and turns each into a CheckResult (never raising)."""

from __future__ import annotations

import time
from collections.abc import Callable

from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import CheckFailed, CheckResult, CheckSkipped, Outcome, Report, failed, skipped
from helixflow.stacks.validate.registry import GROUPS, Check

Progress = Callable[[CheckResult], None]


def run_one(item: Check, ctx: Context) -> CheckResult:
    started = time.monotonic()
    if ctx.remaining() <= 0:
        why = f"the run's time bound ({ctx.options.timeout:g}s) was reached"
        # a critical check that could not run leaves the stack unvouched for: the run fails
        outcome = failed(f"not run: {why}") if item.critical else skipped(why)
    else:
        try:
            outcome = item.run(ctx)
        except CheckFailed as err:
            outcome = Outcome(failed(err.explanation).status, value=err.value, explanation=err.explanation)
        except CheckSkipped as err:
            outcome = skipped(str(err))
        except Exception as err:  # a broken check is a failed check, reported, and the run goes on
            outcome = failed(f"{type(err).__name__}: {err}"[:300])
    return CheckResult(item.name, item.group, item.critical, item.description, outcome, time.monotonic() - started)


def run_checks(checks: list[Check], ctx: Context, progress: Progress | None = None) -> Report:
    """Every check (those marked `last` after the others); results in group order. Cleans up at the end."""
    started = time.monotonic()
    ordered = [c for c in checks if not c.last] + [c for c in checks if c.last]
    results = []
    try:
        for item in ordered:
            result = run_one(item, ctx)
            results.append(result)
            if progress is not None:
                progress(result)
    finally:
        problems = ctx.close()
    for problem in problems:
        results.append(
            CheckResult(
                "cleanup", "data", False, "Remove what the run created", failed(f"could not clean up: {problem}"), 0.0
            )
        )
    results.sort(key=lambda r: GROUPS.index(r.group))  # stable: registration order within a group
    return Report(
        results=results,
        seconds=time.monotonic() - started,
        target=ctx.deployment.describe(),
        min_success_rate=ctx.options.min_success_rate,
    )
