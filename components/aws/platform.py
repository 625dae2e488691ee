"""The whole AWS stack: Network -> GpuCluster -> Database, Cache, Bucket, Identities -> the Kubernetes
layer on the new cluster (through a provider from the cluster's endpoint, CA and `aws eks get-token`),
its data stores the managed ones (PostgreSQL with sslmode=verify-full, Redis over TLS)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from helixflow.components.aws.bucket import Bucket, BucketArgs
from helixflow.components.aws.cache import Cache, CacheArgs
from helixflow.components.aws.cluster import GpuCluster, GpuClusterArgs
from helixflow.components.aws.database import Database, DatabaseArgs
from helixflow.components.aws.identity import Identities, IdentitiesArgs
from helixflow.components.aws.network import Network, NetworkArgs
from helixflow.components.aws.rds_ca import region_roots
from helixflow.components.k8s.layer import ExternalData, KubernetesLayer, LayerArgs
from helixflow.components.k8s.runtime import DATA_CA_DIR
from helixflow.runtime.db.roles import RUNTIME_ROLE

TYPE = "helixflow:aws:Platform"
RDS_CA_FILE = "rds-ca.pem"  # the region's RDS roots (rds_ca.py): no public trust store holds them
RDS_CA_BUNDLE = f"{DATA_CA_DIR}/{RDS_CA_FILE}"  # where the layer mounts the data stores' CA files


@dataclass(frozen=True)
class AwsPlatformArgs:
    """The network-dependent ids of `cluster`, `database` and `cache` (subnets, VPC, security group) are
    filled in here from the Network and the cluster; leave them at their defaults."""

    region: str
    network: NetworkArgs
    cluster: GpuClusterArgs
    database: DatabaseArgs
    cache: CacheArgs
    bucket: BucketArgs
    layer: Callable[[ExternalData], LayerArgs]  # the layer's arguments, given the managed data stores
    # The runtime's own database role (RUNTIME_ROLE, owning schema `helixflow`): the services connect with
    # it; the master user's URL goes to the migrations Job alone, which makes the role.
    runtime_password: pulumi.Input[str]
    deletion_protection: bool = True  # the data stores: RDS's own setting, and Pulumi's protect for all three


def kubeconfig(cluster_name: pulumi.Input[str], endpoint: pulumi.Input[str], ca: pulumi.Input[str],
               region: str) -> pulumi.Output[str]:  # fmt: skip
    """A kubeconfig whose token comes from `aws eks get-token` at each use (it expires after 15 minutes)."""

    def render(values: list[Any]) -> str:
        name, server, authority = values
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": authority}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "users": [{"name": name, "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                "args": ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
                "interactiveMode": "Never",
            }}}],
        }, sort_keys=True)  # fmt: skip

    return pulumi.Output.all(cluster_name, endpoint, ca).apply(render)


def postgres_url(user: str, password: str, host: str, port: int, database: str) -> str:
    """TLS with the server's certificate and name verified against the RDS roots (sslmode=verify-full)."""
    return (f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{database}"
            f"?sslmode=verify-full&sslrootcert={RDS_CA_BUNDLE}")  # fmt: skip


def redis_url(token: str, host: str, port: int) -> str:
    """rediss://: TLS to ElastiCache (transit encryption is required there), the auth token as password."""
    return f"rediss://:{quote(token, safe='')}@{host}:{port}/0"


class AwsPlatform(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) when any part's arguments are invalid."""

    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    database_address: pulumi.Output[str]
    cache_endpoint: pulumi.Output[str]
    bucket: pulumi.Output[str]
    namespace: pulumi.Output[str]
    gateway_service: pulumi.Output[str]
    pool_url: pulumi.Output[str]
    admin_api_key: pulumi.Output[str]

    def __init__(self, name: str, args: AwsPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        for part in (args.network, args.cluster, args.database, args.cache, args.bucket):
            part.validate()
        rds_roots = region_roots(args.region)
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=args.deletion_protection)
        network = Network(f"{name}-network", args.network, opts=child)
        cluster = GpuCluster(f"{name}-cluster", replace(args.cluster, private_subnet_ids=network.private_subnet_ids),
                             opts=child)  # fmt: skip
        vpc, subnets, clients = network.vpc_id, network.private_subnet_ids, cluster.cluster_security_group_id
        database = Database(f"{name}-db", replace(args.database, deletion_protection=args.deletion_protection,
                                                  vpc_id=vpc, subnet_ids=subnets, client_security_group_id=clients),
                            opts=kept)  # fmt: skip
        cache = Cache(f"{name}-cache", replace(args.cache, vpc_id=vpc, subnet_ids=subnets,
                                               client_security_group_id=clients), opts=kept)  # fmt: skip
        bucket = Bucket(f"{name}-bucket", args.bucket, opts=kept)
        # The managed master password, read from Secrets Manager for the migrations' admin URL (secret in state).
        secret = aws.secretsmanager.get_secret_version_output(secret_id=database.master_secret_arn,
                                                              opts=pulumi.InvokeOutputOptions(parent=self))
        password: pulumi.Output[str] = pulumi.Output.secret(
            secret.secret_string.apply(lambda text: str(json.loads(text)["password"])))
        user, db_name = args.database.username, args.database.db_name
        data = ExternalData(
            database_url=pulumi.Output.secret(pulumi.Output.all(args.runtime_password, database.address,
                                                                database.port).apply(
                lambda v: postgres_url(RUNTIME_ROLE, str(v[0]), str(v[1]), int(v[2]), db_name))),
            # the master user's (rotated by Secrets Manager): read at each `up`, for the migrations Job only
            database_admin_url=pulumi.Output.secret(pulumi.Output.all(password, database.address,
                                                                      database.port).apply(
                lambda v: postgres_url(user, str(v[0]), str(v[1]), int(v[2]), db_name))),
            redis_url=pulumi.Output.secret(pulumi.Output.all(args.cache.auth_token, cache.primary_endpoint,
                                                             cache.port).apply(
                lambda v: redis_url(str(v[0]), str(v[1]), int(v[2])))),
            # ElastiCache's certificates chain to Amazon's public roots, which the images' stores hold
            ca_files={RDS_CA_FILE: rds_roots},
        )  # fmt: skip
        layer_args = args.layer(data)
        # The roles are bound to the layer's own service accounts (Pod Identity needs no annotation on them).
        identities = Identities(f"{name}-identities", IdentitiesArgs(
            cluster_name=cluster.cluster_name, namespace=layer_args.namespace, bucket_arn=bucket.arn,
            kms_key_arn=bucket.kms_key_arn, model_prefix=args.bucket.model_prefix,
            backup_prefix=args.bucket.backup_prefix, worker_service_account=layer_args.accounts.worker,
            backup_service_account=layer_args.accounts.backup, restore_service_account=layer_args.accounts.restore,
        ), opts=child)  # fmt: skip
        if layer_args.backup:  # into the prefix the lifecycle rule expires and the backup role may write
            backup_uri = pulumi.Output.concat("s3://", bucket.bucket, "/", args.bucket.backup_prefix)
            layer_args = replace(layer_args, backup=layer_args.backup.into(backup_uri, "s3"))
        self.kubeconfig = kubeconfig(cluster.cluster_name, cluster.endpoint, cluster.certificate_authority,
                                     args.region)  # fmt: skip
        provider = k8s.Provider(f"{name}-eks", kubeconfig=self.kubeconfig, delete_unreachable=False,
                                opts=pulumi.ResourceOptions(parent=self, depends_on=cluster.node_groups))  # fmt: skip
        layer = KubernetesLayer(f"{name}-k8s", layer_args, pulumi.ResourceOptions(
            parent=self, providers=[provider], depends_on=[cluster, database, cache, identities]))  # fmt: skip
        self.cluster_name = cluster.cluster_name
        self.database_address = database.address
        self.cache_endpoint = cache.primary_endpoint
        self.bucket = bucket.bucket
        self.namespace = layer.namespace
        self.gateway_service = layer.gateway_service
        self.pool_url = layer.pool_url
        self.admin_api_key = layer.admin_api_key
        self.register_outputs({"cluster_name": self.cluster_name, "database_address": self.database_address,
                               "cache_endpoint": self.cache_endpoint, "bucket": self.bucket,
                               "namespace": self.namespace, "gateway_service": self.gateway_service})  # fmt: skip
