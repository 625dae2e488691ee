"""Price rules for the AWS resources HelixFlow creates: each returns the resource's lines."""

from __future__ import annotations

from collections.abc import Callable

from helixflow.stacks.cost.context import PricingContext, dig, line, number
from helixflow.stacks.cost.report import CostLine
from helixflow.stacks.plan.model import PlannedResource

GPU_TAINT = "nvidia.com/gpu"
GPU_FAMILIES = ("p", "g")  # EC2 accelerated families HelixFlow uses (p4d/p5, g5/g6/g6e)

Rule = Callable[[PlannedResource, PricingContext], list[CostLine]]


def is_gpu_node_group(resource: PlannedResource) -> bool:
    props = resource.properties
    taints = props.get("taints") or []
    tainted = any(isinstance(taint, dict) and taint.get("key") == GPU_TAINT for taint in taints)
    labelled = (props.get("labels") or {}).get("nvidia.com/gpu.present") == "true"
    types = props.get("instanceTypes") or []
    family = str(types[0])[:1] if types else ""
    return tainted or labelled or family in GPU_FAMILIES or "NVIDIA" in str(props.get("amiType", ""))


def node_group(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    props = resource.properties
    types = props.get("instanceTypes") or ["t3.medium"]  # the EKS API's default
    instance = str(types[0])
    spot = props.get("capacityType") == "SPOT"
    scaling = props.get("scalingConfig") or {}
    low_nodes, high_nodes = number(scaling.get("minSize")), number(scaling.get("maxSize"))
    hourly = ctx.hourly(resource, instance, spot)
    disk_gb, disk_note = _root_volume(resource, ctx)
    per_node = hourly * ctx.hours + disk_gb * ctx.rate(resource, "ebs_gp3_gb_month")
    capacity = "spot" if spot else "on-demand"
    note = disk_note
    if len(types) > 1:
        note = f"priced as {instance}, the first of {len(types)} instance types; " + note
    return [line(resource, "gpu nodes" if is_gpu_node_group(resource) else "system nodes",
                 low_nodes * per_node, high_nodes * per_node,
                 detail=f"{low_nodes:g}-{high_nodes:g} x {instance} {capacity} at ${hourly:g}/h"
                        f" + {disk_gb:g} GB gp3 each", note=note.strip("; "))]  # fmt: skip


def _root_volume(resource: PlannedResource, ctx: PricingContext) -> tuple[float, str]:
    """The root volume of a node: `diskSize`, or the launch template tagged with the same pool."""
    if "diskSize" in resource.properties:
        return number(resource.properties["diskSize"]), ""
    if not resource.properties.get("launchTemplate"):
        return 20.0, "root volume: the EKS default of 20 GB"
    pool = (resource.properties.get("labels") or {}).get("helixflow.io/pool")
    for template in ctx.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        tagged = {tags.get("helixflow.io/pool") for spec in template.properties.get("tagSpecifications") or []
                  if isinstance(tags := spec.get("tags"), dict)}  # fmt: skip
        if pool and pool in tagged:
            sizes = [number(dig(mapping, "ebs", "volumeSize")) for mapping in
                     template.properties.get("blockDeviceMappings") or []]  # fmt: skip
            return sum(sizes), ""
    return 0.0, "root volume not priced: no launch template of this pool found in the plan"


def eks_cluster(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    hourly = ctx.rate(resource, "cluster_hour")
    return [line(resource, "control plane", hourly * ctx.hours, detail=f"EKS at ${hourly:g}/h")]


def nat_gateway(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    gb = ctx.prices.assumptions.nat_gb_per_month
    hourly, per_gb = ctx.rate(resource, "nat_gateway_hour"), ctx.rate(resource, "nat_gateway_gb")
    return [line(resource, "network", hourly * ctx.hours + gb * per_gb, detail=f"${hourly:g}/h + ${per_gb:g}/GB",
                 note=f"assumes {gb:g} GB processed a month (assumptions.nat_gb_per_month)")]  # fmt: skip


def public_ip(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    hourly = ctx.rate(resource, "public_ipv4_hour")
    return [line(resource, "network", hourly * ctx.hours, detail=f"public IPv4 at ${hourly:g}/h")]


def rds_instance(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    props = resource.properties
    klass = str(props.get("instanceClass", ""))
    factor = 2 if props.get("multiAz") else 1  # a standby of the same class, and its storage
    storage_type = str(props.get("storageType") or "gp2")
    gb = number(props.get("allocatedStorage"), 20)
    max_gb = max(gb, number(props.get("maxAllocatedStorage"), gb))  # storage autoscaling's ceiling
    per_gb = ctx.rate(resource, f"rds_storage_{storage_type}_gb_month")
    hourly = ctx.machine(resource, klass).on_demand
    backup_gb = gb * ctx.prices.assumptions.backup_extra_ratio if number(props.get("backupRetentionPeriod")) else 0
    backups = backup_gb * ctx.rate(resource, "rds_backup_gb_month")
    fixed = factor * hourly * ctx.hours + backups
    return [line(resource, "database", fixed + factor * gb * per_gb, fixed + factor * max_gb * per_gb,
                 detail=f"{klass}{' Multi-AZ x2' if factor == 2 else ''} at ${hourly:g}/h"
                        f" + {gb:g}-{max_gb:g} GB {storage_type} + {backup_gb:g} GB backups",
                 note="backups beyond the free allowance: assumptions.backup_extra_ratio x allocated storage")]


def replication_group(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    props = resource.properties
    node_type = str(props.get("nodeType", ""))
    if props.get("numNodeGroups"):
        nodes = number(props["numNodeGroups"]) * (1 + number(props.get("replicasPerNodeGroup")))
    else:
        nodes = number(props.get("numCacheClusters"), 1)
    hourly = ctx.machine(resource, node_type).on_demand
    return [line(resource, "cache", nodes * hourly * ctx.hours, detail=f"{nodes:g} x {node_type} at ${hourly:g}/h")]


def bucket(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    gb, per_gb = ctx.prices.assumptions.bucket_gb, ctx.rate(resource, "s3_standard_gb_month")
    return [line(resource, "storage", gb * per_gb, detail=f"S3 Standard at ${per_gb:g}/GB-month",
                 note=f"assumes {gb:g} GB stored (assumptions.bucket_gb); requests not included")]  # fmt: skip


def log_group(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    gb = ctx.prices.assumptions.log_gb_per_month
    days = number(resource.properties.get("retentionInDays"))
    kept_months = days / 30 if days else 12.0  # "never expire": a year of it, stated
    ingest, store = ctx.rate(resource, "logs_ingest_gb"), ctx.rate(resource, "logs_storage_gb_month")
    return [line(resource, "logs", gb * ingest + gb * kept_months * store,
                 detail=f"{gb:g} GB/month ingested at ${ingest:g}/GB, kept {kept_months:.1f} months",
                 note="assumes assumptions.log_gb_per_month" + ("" if days else "; no retention: priced at 12 months"))]


def monthly(rate: str, category: str, what: str) -> Rule:
    """A flat monthly fee per resource (a KMS key, a secret)."""

    def rule(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
        fee = ctx.rate(resource, rate)
        return [line(resource, category, fee, detail=f"{what} at ${fee:g}/month")]

    return rule


AWS_RULES: dict[str, Rule] = {
    "aws:eks/nodeGroup:NodeGroup": node_group,
    "aws:eks/cluster:Cluster": eks_cluster,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/eip:Eip": public_ip,
    "aws:rds/instance:Instance": rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": replication_group,
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketV2:BucketV2": bucket,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:kms/key:Key": monthly("kms_key_month", "security", "a KMS key"),
    "aws:secretsmanager/secret:Secret": monthly("secret_month", "security", "a secret"),
}
