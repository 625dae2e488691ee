"""Price rules for the GCP resources HelixFlow creates."""

from __future__ import annotations

import re

from helixflow.stacks.cost.context import PricingContext, dig, line, number
from helixflow.stacks.cost.report import CostLine
from helixflow.stacks.cost.rules_aws import Rule, monthly
from helixflow.stacks.plan.model import PlannedResource

DEFAULT_MACHINE = "e2-medium"  # GKE's default node machine type
ZONES_PER_REGION = 3  # a regional pool's per-zone counts repeat in each of the region's (usually 3) zones
CUSTOM_TIER = re.compile(r"^db-custom-(\d+)-(\d+)$")


def _zones(resource: PlannedResource) -> int:
    locations = resource.properties.get("nodeLocations")
    if isinstance(locations, list) and locations:
        return len(locations)
    location = str(resource.properties.get("location", ""))
    return 1 if re.search(r"-[a-z]$", location) else ZONES_PER_REGION


def is_gpu_pool(resource: PlannedResource) -> bool:
    config = resource.properties.get("nodeConfig") or {}
    return bool(config.get("guestAccelerators")) or str(config.get("machineType", "")).startswith(("a2-", "a3-", "g2-"))


def node_pool(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    props = resource.properties
    config = props.get("nodeConfig") or {}
    machine = str(config.get("machineType") or DEFAULT_MACHINE)
    spot = bool(config.get("spot") or config.get("preemptible"))
    low, high, counted = _node_range(resource)
    hourly = ctx.hourly(resource, machine, spot)
    if not ctx.machine(resource, machine).includes_accelerators:
        for accelerator in config.get("guestAccelerators") or []:
            kind = str(accelerator.get("type"))
            hourly += number(accelerator.get("count"), 1) * ctx.accelerator(resource, kind, spot)
    disk_type = str(config.get("diskType") or "pd-balanced").replace("-", "_")
    disk_gb = number(config.get("diskSizeGb"), 100)
    per_node = hourly * ctx.hours + disk_gb * ctx.rate(resource, f"{disk_type}_gb_month")
    capacity = "spot" if spot else "on-demand"
    return [line(resource, "gpu nodes" if is_gpu_pool(resource) else "system nodes", low * per_node, high * per_node,
                 detail=f"{low:g}-{high:g} x {machine} {capacity} at ${hourly:g}/h + {disk_gb:g} GB {disk_type}",
                 note=counted)]  # fmt: skip


def _node_range(resource: PlannedResource) -> tuple[float, float, str]:
    props = resource.properties
    scaling = props.get("autoscaling") or {}
    if "totalMinNodeCount" in scaling or "totalMaxNodeCount" in scaling:
        return number(scaling.get("totalMinNodeCount")), number(scaling.get("totalMaxNodeCount")), ""
    zones = _zones(resource)
    if scaling:
        low, high = number(scaling.get("minNodeCount")), number(scaling.get("maxNodeCount"))
    else:
        low = high = number(props.get("nodeCount", props.get("initialNodeCount")), 1)
    note = f"per-zone counts x {zones} zones" if zones > 1 else ""
    return low * zones, high * zones, note


def gke_cluster(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    hourly = ctx.rate(resource, "cluster_hour")
    gb, ingest = ctx.prices.assumptions.log_gb_per_month, ctx.rate(resource, "logs_ingest_gb")
    lines = [line(resource, "control plane", hourly * ctx.hours, detail=f"GKE at ${hourly:g}/h",
                  note="the free-tier credit of one zonal cluster per billing account is not deducted"),
             line(resource, "logs", gb * ingest, detail=f"Cloud Logging {gb:g} GB/month at ${ingest:g}/GB",
                  note="assumes assumptions.log_gb_per_month; the first 50 GiB a project are free")]  # fmt: skip
    if not resource.properties.get("removeDefaultNodePool"):
        default_pool = PlannedResource(type=resource.type, name=f"{resource.name} (default pool)",
                                       properties={"nodeConfig": resource.properties.get("nodeConfig") or {},
                                                   "nodeCount": resource.properties.get("initialNodeCount", 1),
                                                   "location": resource.properties.get("location", "")})  # fmt: skip
        lines += node_pool(default_pool, ctx)
    return lines


def sql_instance(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    settings = resource.properties.get("settings") or {}
    tier = str(settings.get("tier", ""))
    factor = 2 if settings.get("availabilityType") == "REGIONAL" else 1  # a standby in another zone
    custom = CUSTOM_TIER.match(tier)
    if custom:
        vcpus, memory_gb = int(custom.group(1)), int(custom.group(2)) / 1024
        hourly = vcpus * ctx.rate(resource, "sql_vcpu_hour") + memory_gb * ctx.rate(resource, "sql_memory_gb_hour")
    else:
        hourly = ctx.machine(resource, tier).on_demand
    disk = "hdd" if settings.get("diskType") == "PD_HDD" else "ssd"
    gb = number(settings.get("diskSize"), 10)
    limit = number(settings.get("diskAutoresizeLimit"))
    max_gb = max(gb, limit) if settings.get("diskAutoresize", True) and limit else gb
    per_gb = ctx.rate(resource, f"sql_storage_{disk}_gb_month")
    backed_up = dig(settings, "backupConfiguration", "enabled")
    backup_gb = gb * ctx.prices.assumptions.backup_extra_ratio if backed_up else 0
    fixed = factor * hourly * ctx.hours + backup_gb * ctx.rate(resource, "sql_backup_gb_month")
    note = "backups: assumptions.backup_extra_ratio x disk size"
    if settings.get("diskAutoresize", True) and not limit:
        note += "; disk autoresize has no limit: the high figure is the initial size"
    return [line(resource, "database", fixed + factor * gb * per_gb, fixed + factor * max_gb * per_gb,
                 detail=f"{tier}{' regional x2' if factor == 2 else ''} at ${hourly:.4g}/h + {gb:g}-{max_gb:g} GB"
                        f" {disk.upper()} + {backup_gb:g} GB backups", note=note)]  # fmt: skip


def redis_instance(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    props = resource.properties
    tier = str(props.get("tier") or "BASIC")
    gb = number(props.get("memorySizeGb"), 1)
    rate = ctx.rate(resource, "redis_standard_ha_gb_hour" if tier == "STANDARD_HA" else "redis_basic_gb_hour")
    # STANDARD_HA's price covers one replica; read replicas beyond it are billed as more nodes
    nodes = max(1.0, number(props.get("replicaCount"), 1)) if tier == "STANDARD_HA" else 1.0
    return [line(resource, "cache", nodes * gb * rate * ctx.hours, detail=f"{tier} {gb:g} GB at ${rate:g}/GB-h"
                 + (f" x {nodes:g} replicas" if nodes > 1 else ""))]  # fmt: skip


def gcs_bucket(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    gb, per_gb = ctx.prices.assumptions.bucket_gb, ctx.rate(resource, "gcs_standard_gb_month")
    return [line(resource, "storage", gb * per_gb, detail=f"Cloud Storage Standard at ${per_gb:g}/GB-month",
                 note=f"assumes {gb:g} GB stored (assumptions.bucket_gb); operations not included")]  # fmt: skip


def router_nat(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    gb = ctx.prices.assumptions.nat_gb_per_month
    hourly, per_gb = ctx.rate(resource, "nat_gateway_hour"), ctx.rate(resource, "nat_gateway_gb")
    return [line(resource, "network", hourly * ctx.hours + gb * per_gb, detail=f"${hourly:g}/h + ${per_gb:g}/GB",
                 note=f"assumes {gb:g} GB processed a month (assumptions.nat_gb_per_month)")]  # fmt: skip


def address(resource: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    """A reserved address: an internal range (private service access) is free, an external IP is not."""
    if resource.properties.get("addressType") == "INTERNAL" or resource.properties.get("purpose") == "VPC_PEERING":
        return [line(resource, "network", 0.0, detail="internal address range: free")]
    hourly = ctx.rate(resource, "static_ip_hour")
    return [line(resource, "network", hourly * ctx.hours, detail=f"static external IP at ${hourly:g}/h")]


GCP_RULES: dict[str, Rule] = {
    "gcp:container/nodePool:NodePool": node_pool,
    "gcp:container/cluster:Cluster": gke_cluster,
    "gcp:sql/databaseInstance:DatabaseInstance": sql_instance,
    "gcp:redis/instance:Instance": redis_instance,
    "gcp:storage/bucket:Bucket": gcs_bucket,
    "gcp:compute/routerNat:RouterNat": router_nat,
    "gcp:compute/globalAddress:GlobalAddress": address,
    "gcp:compute/address:Address": address,
    "gcp:kms/cryptoKey:CryptoKey": monthly("kms_key_month", "security", "a Cloud KMS key version"),
    "gcp:secretmanager/secret:Secret": monthly("secret_month", "security", "a secret version"),
}
