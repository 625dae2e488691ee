"""What `plan --cost` calls: the estimate of a stack's plan, cloud and region taken from its configuration."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from helixflow.stacks.config.common import StackBase
from helixflow.stacks.cost.estimate import estimate
from helixflow.stacks.cost.prices import CLOUDS, load_prices
from helixflow.stacks.cost.report import CostReport
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.plan.model import PlannedResource


def estimate_stack(resources: Sequence[PlannedResource], config: StackBase,
                   prices_file: Path | None = None) -> CostReport:  # fmt: skip
    """Price a plan of an `aws` or `gcp` stack in its configured region, with the user's price file over the table.

    Raises HelixFlowError for another target (a `local` or `kubernetes` stack's bill is not HelixFlow's to
    know) and for a bad price file or a region the prices lack.
    """
    target = str(getattr(config, "target", "local"))
    if target not in CLOUDS:
        raise HelixFlowError(f"a {target} stack has no cloud bill to estimate",
                             hint="`plan --cost` prices aws and gcp stacks; drop --cost for this one")  # fmt: skip
    region = str(getattr(config, target).region)
    return estimate(resources, load_prices(target, prices_file), region)
