"""`estimate`: a plan's resources priced per line and in total per month."""

from __future__ import annotations

from collections.abc import Sequence

from helixflow.stacks.cost.catalog import classify
from helixflow.stacks.cost.context import MissingPrice, PricingContext
from helixflow.stacks.cost.prices import PriceTable
from helixflow.stacks.cost.report import CostLine, CostReport
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.plan.model import PlannedResource


def estimate(resources: Sequence[PlannedResource], prices: PriceTable, region: str | None = None) -> CostReport:
    """Price every resource of a plan with `prices`.

    `region` is the stack's (the plan passes `config.aws.region` / `config.gcp.region`); without it,
    the region of the plan's provider resource. A resource's own `region` input wins for that
    resource. Components group resources and get no line. A resource whose figure is missing from
    the table, or whose type has no rule, gets an "unpriced" line saying what to add.

    Raises HelixFlowError when no region is known or the table has no prices for it.
    """
    region = region or _provider_region(resources, prices.cloud)
    prices.region(region)  # an unknown region fails once, here, rather than on every line
    ctx = PricingContext(prices=prices, region=region, resources=tuple(resources))
    lines: list[CostLine] = []
    for resource in resources:
        if not resource.component:
            lines += _price(resource, ctx)
    return CostReport(cloud=prices.cloud, region=region, currency=prices.currency, prices_source=prices.source,
                      prices_date=prices.date, lines=lines)  # fmt: skip


def _price(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    status, rule, reason = classify(resource.type)
    if rule is None:
        category = "unpriced" if status == "unpriced" else "free"
        return [CostLine(resource=resource.name, type=resource.type, category=category, status=status, note=reason)]
    try:
        return rule(resource, ctx)
    except MissingPrice as missing:
        return [CostLine(resource=resource.name, type=resource.type, category="unpriced", status="unpriced",
                         note=f"{missing}: add `regions: {{{missing.region}: {missing.what}}}` to your price file")]
    except HelixFlowError as error:  # the resource's own region is not in the table
        return [CostLine(resource=resource.name, type=resource.type, category="unpriced", status="unpriced",
                         note=error.message)]  # fmt: skip


def _provider_region(resources: Sequence[PlannedResource], cloud: str) -> str:
    for resource in resources:
        if resource.type == f"pulumi:providers:{cloud}":
            region = resource.properties.get("region")
            if isinstance(region, str) and region:
                return region
    raise HelixFlowError(f"the plan names no {cloud} region to price it in",
                         hint=f"pass region= (the stack's {cloud}.region) to cost.estimate")  # fmt: skip
