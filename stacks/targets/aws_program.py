"""The `aws` target's Pulumi program: an AWS provider for the stack's region, then `AwsPlatform` built
from the `aws:` section (the catalog already checked the GPUs, zones and CIDRs)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from helixflow.components.aws.bucket import BucketArgs
from helixflow.components.aws.cache import CacheArgs
from helixflow.components.aws.cluster import GpuClusterArgs
from helixflow.components.aws.database import DatabaseArgs
from helixflow.components.aws.network import NetworkArgs
from helixflow.components.aws.nodegroups import NodePoolSpec
from helixflow.components.aws.platform import AwsPlatform, AwsPlatformArgs
from helixflow.components.k8s.addons import AddonsArgs
from helixflow.components.k8s.backup import APP as BACKUP_APP
from helixflow.components.k8s.layer import ExternalData, LayerArgs
from helixflow.components.k8s.restore import APP as RESTORE_APP
from helixflow.stacks.config import AwsStack
from helixflow.stacks.config.aws import AwsSettings
from helixflow.stacks.secrets import SecretSource, StackSecrets
from helixflow.stacks.targets.base import Program
from helixflow.stacks.targets.cloud_program import cloud_layer_args

WORKLOADS = ("gateway", "auth", "monitoring", "sglang-router", "sglang-worker")


@dataclass(frozen=True)
class AwsAccess:
    """What preflight found: where the credentials come from (the provider reads them itself)."""

    credentials: str
    profile: str | None = None


NAME_LENGTH = 28  # ElastiCache ids stop at 40 characters: room for "-cache" and the component suffixes


def cluster_name(stack: str) -> str:
    """The stack's name on AWS (cluster, database, cache): lowercase letters, digits and single hyphens,
    as the strictest of them (RDS, ElastiCache) require; a long stack name is cut and made unique by a hash."""
    base = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", f"helixflow-{stack}".lower())).strip("-")
    if len(base) <= NAME_LENGTH:
        return base
    return f"{base[: NAME_LENGTH - 7].rstrip('-')}-{hashlib.sha256(stack.encode()).hexdigest()[:6]}"


def pools(a: AwsSettings) -> tuple[NodePoolSpec, list[NodePoolSpec]]:
    s = a.cluster.system_nodes
    system = NodePoolSpec(name="system", instance_types=s.instance_types, min_size=s.min_nodes, max_size=s.max_nodes,
                          root_volume_gib=s.root_volume_gib)  # fmt: skip
    gpus = [
        NodePoolSpec(name=p.name, instance_types=p.instance_types(), min_size=p.min_nodes, max_size=p.max_nodes,
                     gpus_per_node=p.gpus_per_node(), gpu=p.gpu,
                     capacity="SPOT" if p.capacity == "spot" else "ON_DEMAND", root_volume_gib=p.root_volume_gib,
                     labels=p.labels)
        for p in a.gpu_pools
    ]  # fmt: skip
    return system, gpus


# ingress-nginx behind a Network Load Balancer (TCP passthrough keeps HTTP/2 and TLS at the ingress).
NLB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
}


def layer_args(a: AwsSettings, secrets: StackSecrets, data: ExternalData, domain: str | None = None,
               acme_email: str | None = None) -> LayerArgs:  # fmt: skip
    # A new EKS cluster has none of them; the AL2023 NVIDIA image has the driver, not the device plugin.
    addons = AddonsArgs(ingress_nginx="install", cert_manager="install", kube_prometheus_stack="install",
                        nvidia_device_plugin="install", dcgm_exporter="install",
                        load_balancer_annotations=NLB_ANNOTATIONS)
    return cloud_layer_args(a, secrets, data, addons, domain, acme_email)


def platform_args(a: AwsSettings, secrets: StackSecrets, name: str, domain: str | None = None,
                  acme_email: str | None = None) -> AwsPlatformArgs:  # fmt: skip
    private, public = a.network.subnets()
    system, gpu_pools = pools(a)
    c, d, k = a.cluster, a.database, a.cache
    return AwsPlatformArgs(
        region=a.region,
        network=NetworkArgs(cluster_name=name, cidr=a.network.vpc_cidr, zones=a.network.zone_names(a.region),
                            private_subnets=private, public_subnets=public,
                            single_nat_gateway=a.network.single_nat_gateway,
                            flow_log_retention_days=a.network.flow_log_retention_days),
        cluster=GpuClusterArgs(cluster_name=name, version=c.kubernetes_version, system_pool=system, gpu_pools=gpu_pools,
                               service_cidr=a.network.service_cidr, public_endpoint=c.public_endpoint,
                               public_access_cidrs=c.public_access_cidrs, admin_principal_arns=c.admin_principal_arns,
                               log_retention_days=c.log_retention_days),
        database=DatabaseArgs(instance_class=d.instance_class, engine_version=d.engine_version,
                              storage_gib=d.storage_gib, max_storage_gib=d.max_storage_gib, multi_az=d.multi_az,
                              backup_retention_days=d.backup_retention_days,
                              performance_insights_retention_days=d.performance_insights_retention_days),
        cache=CacheArgs(auth_token=pulumi.Output.secret(secrets.redis_password), engine=k.engine,
                        engine_version=k.engine_version, node_type=k.node_type, nodes=k.nodes,
                        snapshot_retention_days=k.snapshot_retention_days),
        bucket=BucketArgs(model_prefix=a.bucket.model_prefix, backup_prefix=a.bucket.backup_prefix,
                          backup_retention_days=a.bucket.backup_retention_days),
        runtime_password=pulumi.Output.secret(secrets.postgres_runtime_password),
        layer=lambda data: layer_args(a, secrets, data, domain, acme_email),
        deletion_protection=a.deletion_protection,
    )  # fmt: skip


def protected_stores(config: AwsStack, stack: str) -> list[str]:
    """The data stores `down` must not remove while deletion protection is on (as `down` names them)."""
    if not config.aws.deletion_protection:
        return []
    name = cluster_name(stack)
    return [f"RDS instance {name}-db", f"ElastiCache replication group {name}-cache", f"S3 bucket {name}-bucket-*"]


def build_aws_program(config: AwsStack, secrets: SecretSource, access: AwsAccess) -> Program:
    a = config.aws

    def program() -> None:
        stack = pulumi.get_stack()
        name = cluster_name(stack)
        provider = aws.Provider("aws", region=a.region, profile=access.profile,
                                default_tags=aws.ProviderDefaultTagsArgs(tags={"helixflow:stack": stack,
                                                                               "managed-by": "helixflow"}))  # fmt: skip
        args = platform_args(a, secrets(), name, config.domain, config.acme_email)
        platform = AwsPlatform(name, args, pulumi.ResourceOptions(providers=[provider]))
        pulumi.export("target", "aws")
        pulumi.export("region", a.region)
        pulumi.export("cluster_name", platform.cluster_name)
        pulumi.export("kubeconfig_yaml", platform.kubeconfig)
        pulumi.export("database_address", platform.database_address)
        pulumi.export("cache_endpoint", platform.cache_endpoint)
        pulumi.export("bucket", platform.bucket)
        if a.backup.enabled:  # what `helixflow backup` runs
            pulumi.export("backup_cron_job", {
                "namespace": a.namespace_prefix, "name": BACKUP_APP, "restore": RESTORE_APP,
                "bucket_uri": pulumi.Output.concat("s3://", platform.bucket, "/", a.bucket.backup_prefix)})  # fmt: skip
        if config.domain:
            pulumi.export("endpoint", f"https://{config.domain}")
        pulumi.export("namespace", platform.namespace)
        pulumi.export("gateway_service", platform.gateway_service)
        pulumi.export("pool_url", platform.pool_url)
        pulumi.export("admin_api_key", platform.admin_api_key)
        pulumi.export("model", a.model.name)
        pulumi.export("protected_data_stores", protected_stores(config, stack))
        pulumi.export("workloads", [{"kind": "Deployment", "namespace": a.namespace_prefix, "name": workload}
                                    for workload in WORKLOADS])  # fmt: skip

    return program
