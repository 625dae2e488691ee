"""Price rules for the Kubernetes objects that make the cloud bill: load balancers and volumes.

Every other Kubernetes object is free: it runs on nodes that are priced already.
"""

from __future__ import annotations

import re

from helixflow.stacks.cost.context import PricingContext, dig, line, number
from helixflow.stacks.cost.report import CostLine
from helixflow.stacks.cost.rules_aws import Rule
from helixflow.stacks.plan.model import PlannedResource

# the default StorageClass's disk: EKS gp3 (EBS CSI), GKE standard-rwo (pd-balanced)
VOLUME_RATE = {"aws": "ebs_gp3_gb_month", "gcp": "pd_balanced_gb_month"}
LB_CHARTS = ("ingress-nginx",)  # charts whose controller Service is a LoadBalancer unless values say otherwise
QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$")
TO_GB = {None: 1e-9, "Ki": 2**10 / 1e9, "Mi": 2**20 / 1e9, "Gi": 2**30 / 1e9, "Ti": 2**40 / 1e9,
         "K": 1e-6, "M": 1e-3, "G": 1.0, "T": 1e3}  # fmt: skip


def load_balancer(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    gb = ctx.prices.assumptions.load_balancer_gb_per_month
    hourly, per_gb = ctx.rate(resource, "load_balancer_hour"), ctx.rate(resource, "load_balancer_gb")
    return [line(resource, "load balancer", hourly * ctx.hours + gb * per_gb, detail=f"${hourly:g}/h + ${per_gb:g}/GB",
                 note=f"assumes {gb:g} GB a month through it (assumptions.load_balancer_gb_per_month)")]  # fmt: skip


def service(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    if dig(resource.properties, "spec", "type") == "LoadBalancer":
        return load_balancer(resource, ctx)
    return [line(resource, "cluster", 0.0, detail="an in-cluster Service: free")]


def helm_release(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    chart = str(resource.properties.get("chart", ""))
    service_type = dig(resource.properties, "values", "controller", "service", "type") or "LoadBalancer"
    if chart.rsplit("/", 1)[-1] in LB_CHARTS and service_type == "LoadBalancer":
        return load_balancer(resource, ctx)
    return [line(resource, "cluster", 0.0, detail=f"chart {chart or '?'}: runs on priced nodes")]


def gigabytes(quantity: object) -> float:
    match = QUANTITY.match(str(quantity or "").strip())
    return float(match.group(1)) * TO_GB[match.group(2)] if match else 0.0


def _volume_line(resource: PlannedResource, ctx: PricingContext, gb: float, what: str) -> list[CostLine]:
    rate_name = VOLUME_RATE.get(ctx.prices.cloud, "ebs_gp3_gb_month")
    per_gb = ctx.rate(resource, rate_name)
    return [line(resource, "storage", gb * per_gb, detail=f"{what}: {gb:g} GB at ${per_gb:g}/GB-month",
                 note="the default StorageClass's disk")]  # fmt: skip


def claim(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    gb = gigabytes(dig(resource.properties, "spec", "resources", "requests", "storage"))
    return _volume_line(resource, ctx, gb, "a persistent volume")


def stateful_set(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    spec = resource.properties.get("spec") or {}
    replicas = number(spec.get("replicas"), 1)
    per_replica = sum(gigabytes(dig(template, "spec", "resources", "requests", "storage"))
                      for template in spec.get("volumeClaimTemplates") or [])  # fmt: skip
    if not per_replica:
        return [line(resource, "cluster", 0.0, detail="no volume claims: runs on priced nodes")]
    return _volume_line(resource, ctx, replicas * per_replica, f"{replicas:g} replicas' volumes")


K8S_RULES: dict[str, Rule] = {
    "kubernetes:core/v1:Service": service,
    "kubernetes:helm.sh/v3:Release": helm_release,
    "kubernetes:helm.sh/v4:Chart": helm_release,
    "kubernetes:core/v1:PersistentVolumeClaim": claim,
    "kubernetes:apps/v1:StatefulSet": stateful_set,
}
