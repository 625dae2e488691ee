"""The `gcp` target's Pulumi program: a Google provider for the stack's project and region, then
`GcpPlatform` built from the `gcp:` section (the catalog already checked the GPUs, zones and ranges)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from helixflow.components.gcp.bucket import BucketArgs
from helixflow.components.gcp.cache import CacheArgs
from helixflow.components.gcp.cluster import GpuClusterArgs
from helixflow.components.gcp.database import DatabaseArgs
from helixflow.components.gcp.network import NetworkArgs
from helixflow.components.gcp.nodepools import NodePoolSpec
from helixflow.components.gcp.platform import GcpPlatform, GcpPlatformArgs
from helixflow.components.k8s.addons import AddonsArgs
from helixflow.components.k8s.backup import APP as BACKUP_APP
from helixflow.components.k8s.layer import ExternalData, LayerArgs
from helixflow.components.k8s.restore import APP as RESTORE_APP
from helixflow.stacks.config import GcpStack
from helixflow.stacks.config.gcp import GcpSettings
from helixflow.stacks.secrets import SecretSource, StackSecrets
from helixflow.stacks.targets.base import Program
from helixflow.stacks.targets.cloud_program import cloud_layer_args

WORKLOADS = ("gateway", "auth", "monitoring", "sglang-router", "sglang-worker")
NAME_LENGTH = 20  # service account ids stop at 30 characters: room for "-worker", "-backup", "-nodes"


@dataclass(frozen=True)
class GcpAccess:
    """What preflight found: where the credentials come from (the provider reads them itself)."""

    credentials: str


def platform_name(stack: str) -> str:
    """The stack's name on GCP: lowercase letters, digits and hyphens, starting with a letter; a long
    stack name is cut and made unique by a hash."""
    base = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", f"hf-{stack}".lower())).strip("-")
    if len(base) <= NAME_LENGTH:
        return base
    return f"{base[: NAME_LENGTH - 7].rstrip('-')}-{hashlib.sha256(stack.encode()).hexdigest()[:6]}"


def pools(g: GcpSettings) -> tuple[NodePoolSpec, list[NodePoolSpec]]:
    s = g.cluster.system_nodes
    system = NodePoolSpec(name="system", machine_type=s.machine_type, min_nodes=s.min_nodes, max_nodes=s.max_nodes,
                          disk_size_gb=s.disk_size_gb)  # fmt: skip
    gpus = [
        NodePoolSpec(name=p.name, machine_type=p.chosen_machine_type(), min_nodes=p.min_nodes, max_nodes=p.max_nodes,
                     zones=tuple(p.zone_names(g.region)), disk_size_gb=p.disk_size_gb, disk_type=p.offer().disk_type,
                     accelerator=p.offer().accelerator, gpus_per_node=p.gpus_per_node(), gpu=p.gpu,
                     capacity=p.capacity, reservation=p.reservation, compact_placement=p.compact(), labels=p.labels)
        for p in g.gpu_pools
    ]  # fmt: skip
    return system, gpus


def layer_args(g: GcpSettings, secrets: StackSecrets, data: ExternalData, domain: str | None = None,
               acme_email: str | None = None) -> LayerArgs:  # fmt: skip
    # GKE installs the NVIDIA driver and device plugin on its GPU nodes itself; the rest comes from here.
    addons = AddonsArgs(ingress_nginx="install", cert_manager="install", kube_prometheus_stack="install",
                        nvidia_device_plugin="none", dcgm_exporter="install")
    return cloud_layer_args(g, secrets, data, addons, domain, acme_email)


def platform_args(g: GcpSettings, secrets: StackSecrets, name: str, domain: str | None = None,
                  acme_email: str | None = None) -> GcpPlatformArgs:  # fmt: skip
    assert g.project is not None  # the target refuses a stack without one
    n, c, d, k, b = g.network, g.cluster, g.database, g.cache, g.bucket
    system, gpu_pools = pools(g)
    return GcpPlatformArgs(
        project=g.project, region=g.region,
        network=NetworkArgs(name=name, region=g.region, subnet_cidr=n.subnet_cidr, pods_cidr=n.pods_cidr,
                            services_cidr=n.services_cidr, private_services_cidr=n.private_services_cidr,
                            nat_log_filter=n.nat_log_filter),
        cluster=GpuClusterArgs(project=g.project, region=g.region, zones=c.zone_names(g.region), system_pool=system,
                               gpu_pools=gpu_pools, release_channel=c.release_channel, master_cidr=n.master_cidr,
                               public_endpoint=c.public_endpoint, authorized_networks=c.authorized_networks,
                               deletion_protection=g.deletion_protection, labels={"managed-by": "helixflow"}),
        database=DatabaseArgs(region=g.region, password=pulumi.Output.secret(secrets.postgres_password), tier=d.tier,
                              edition=d.edition, disk_size_gb=d.disk_size_gb,
                              disk_autoresize_limit_gb=d.disk_autoresize_limit_gb,
                              high_availability=d.high_availability, backup_retention_days=d.backup_retention_days,
                              log_retention_days=d.log_retention_days, backup_start_time=d.backup_start_time,
                              maintenance_day=d.maintenance_day, maintenance_hour=d.maintenance_hour),
        cache=CacheArgs(region=g.region, memory_size_gb=k.memory_size_gb, redis_version=k.redis_version,
                        snapshot_period=k.snapshot_period),
        bucket=BucketArgs(location=b.location or g.region, model_prefix=b.model_prefix, backup_prefix=b.backup_prefix,
                          backup_retention_days=b.backup_retention_days,
                          noncurrent_retention_days=b.noncurrent_retention_days,
                          force_destroy=not g.deletion_protection),
        runtime_password=pulumi.Output.secret(secrets.postgres_runtime_password),
        layer=lambda data: layer_args(g, secrets, data, domain, acme_email),
        deletion_protection=g.deletion_protection,
    )  # fmt: skip


def protected_stores(config: GcpStack, stack: str) -> list[str]:
    """What `down` must not remove while deletion protection is on (as `down` names them)."""
    if not config.gcp.deletion_protection:
        return []
    name = platform_name(stack)
    return [f"Cloud SQL instance {name}-db (deletion_protection, settings.deletion_protection_enabled)",
            f"GKE cluster {name}-cluster (deletion_protection)", f"Memorystore instance {name}-cache",
            f"GCS bucket {name}-bucket"]  # fmt: skip


def build_gcp_program(config: GcpStack, secrets: SecretSource, access: GcpAccess) -> Program:
    g = config.gcp

    def program() -> None:
        stack = pulumi.get_stack()
        name = platform_name(stack)
        provider = gcp.Provider("gcp", project=g.project, region=g.region,
                                default_labels={"helixflow-stack": name, "managed-by": "helixflow"})  # fmt: skip
        args = platform_args(g, secrets(), name, config.domain, config.acme_email)
        platform = GcpPlatform(name, args, pulumi.ResourceOptions(providers=[provider]))
        pulumi.export("target", "gcp")
        pulumi.export("project", g.project)
        pulumi.export("region", g.region)
        pulumi.export("cluster_name", platform.cluster_name)
        pulumi.export("kubeconfig_yaml", platform.kubeconfig)
        pulumi.export("database_ip", platform.database_ip)
        pulumi.export("database_instance", platform.database_instance)
        pulumi.export("cache_host", platform.cache_host)
        pulumi.export("bucket", platform.bucket)
        if g.backup.enabled:  # what `helixflow backup` runs
            pulumi.export("backup_cron_job", {
                "namespace": g.namespace_prefix, "name": BACKUP_APP, "restore": RESTORE_APP,
                "bucket_uri": pulumi.Output.concat("gs://", platform.bucket, "/", g.bucket.backup_prefix)})  # fmt: skip
        pulumi.export("namespace", platform.namespace)
        pulumi.export("gateway_service", platform.gateway_service)
        pulumi.export("pool_url", platform.pool_url)
        pulumi.export("admin_api_key", platform.admin_api_key)
        if config.domain:
            pulumi.export("endpoint", f"https://{config.domain}")
        pulumi.export("model", g.model.name)
        pulumi.export("protected_data_stores", protected_stores(config, stack))
        pulumi.export("workloads", [{"kind": "Deployment", "namespace": g.namespace_prefix, "name": workload}
                                    for workload in WORKLOADS])  # fmt: skip

    return program
