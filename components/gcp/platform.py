"""The whole GCP stack: Network -> GpuCluster -> Database, Cache, Bucket, Identities -> the Kubernetes
layer on the new cluster (through a provider from the cluster's endpoint and CA, authenticated by
gke-gcloud-auth-plugin), its data stores the managed ones: PostgreSQL at the private IP with
sslmode=verify-full against the instance's server CA, Redis over TLS (rediss://) with AUTH."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.gcp.bucket import Bucket, BucketArgs
from helixflow.components.gcp.cache import Cache, CacheArgs
from helixflow.components.gcp.cluster import GpuCluster, GpuClusterArgs
from helixflow.components.gcp.database import DATABASE, USER, Database, DatabaseArgs
from helixflow.components.gcp.identity import Identities, IdentitiesArgs
from helixflow.components.gcp.network import Network, NetworkArgs
from helixflow.components.k8s.accounts import GKE_SERVICE_ACCOUNT
from helixflow.components.k8s.layer import ExternalData, KubernetesLayer, LayerArgs
from helixflow.components.k8s.runtime import DATA_CA_DIR
from helixflow.runtime.db.roles import RUNTIME_ROLE

TYPE = "helixflow:gcp:Platform"
CA_DIR = DATA_CA_DIR  # where the runtime's pods find the data stores' CAs (the layer mounts them)


@dataclass(frozen=True)
class GcpPlatformArgs:
    """The network-dependent inputs of `cluster`, `database` and `cache` are filled in here from the
    Network; leave them at their defaults."""

    project: str
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
    deletion_protection: bool = True  # Pulumi's protect on the data stores and the bucket


def kubeconfig(cluster_name: pulumi.Input[str], endpoint: pulumi.Input[str], ca: pulumi.Input[str],
               project: str, region: str) -> pulumi.Output[str]:  # fmt: skip
    """A kubeconfig whose token comes from gke-gcloud-auth-plugin at each use (short-lived, no key files)."""

    def render(values: list[Any]) -> str:
        name, server, authority = values
        context = f"gke_{project}_{region}_{name}"
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": f"https://{server}",
                                                        "certificate-authority-data": authority}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "users": [{"name": context, "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "gke-gcloud-auth-plugin",
                "installHint": "gcloud components install gke-gcloud-auth-plugin",
                "provideClusterInfo": True, "interactiveMode": "Never",
            }}}],
        }, sort_keys=True)  # fmt: skip

    return pulumi.Output.all(cluster_name, endpoint, ca).apply(render)


def postgres_url(password: str, host: str, user: str = USER) -> str:
    """TLS with the server's certificate verified against the instance's own CA (sslmode=verify-full)."""
    return (f"postgresql://{user}:{quote(password, safe='')}@{host}:5432/{DATABASE}"
            f"?sslmode=verify-full&sslrootcert={CA_DIR}/postgres-ca.pem")  # fmt: skip


def redis_url(auth: str, host: str, port: int) -> str:
    """rediss:// (Memorystore's transit encryption) verified against the instance's CA, AUTH as password."""
    return f"rediss://:{quote(auth, safe='')}@{host}:{port}/0?ssl_ca_certs={CA_DIR}/redis-ca.pem"


class GcpPlatform(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) when any part's arguments are invalid."""

    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    database_ip: pulumi.Output[str]
    database_instance: pulumi.Output[str]
    cache_host: pulumi.Output[str]
    bucket: pulumi.Output[str]
    namespace: pulumi.Output[str]
    gateway_service: pulumi.Output[str]
    pool_url: pulumi.Output[str]
    admin_api_key: pulumi.Output[str]

    def __init__(self, name: str, args: GcpPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        for part in (args.network, args.cluster, args.database, args.cache, args.bucket):
            part.validate()
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        network = Network(f"{name}-network", args.network, opts=child)
        cluster = GpuCluster(f"{name}-cluster", replace(args.cluster, network=network.network_id,
                                                        subnetwork=network.subnet_self_link), opts=child)  # fmt: skip
        # Cloud SQL and Memorystore take private IPs from the peered range: after the connection exists.
        kept = pulumi.ResourceOptions(parent=self, protect=args.deletion_protection, depends_on=[network])
        database = Database(f"{name}-db", replace(args.database, network=network.network_id,
                                                  deletion_protection=args.deletion_protection), opts=kept)
        cache = Cache(f"{name}-cache", replace(args.cache, network=network.network_id), opts=kept)
        bucket = Bucket(f"{name}-bucket", args.bucket, opts=pulumi.ResourceOptions(
            parent=self, protect=args.deletion_protection))  # fmt: skip
        data = ExternalData(
            database_url=pulumi.Output.secret(pulumi.Output.all(args.runtime_password, database.private_ip).apply(
                lambda v: postgres_url(str(v[0]), str(v[1]), RUNTIME_ROLE))),
            # the built-in user's (a cloudsqlsuperuser): for the migrations Job only, which makes the role
            database_admin_url=pulumi.Output.secret(pulumi.Output.all(args.database.password,
                                                                      database.private_ip).apply(
                lambda v: postgres_url(str(v[0]), str(v[1])))),
            redis_url=pulumi.Output.secret(pulumi.Output.all(cache.auth_string, cache.host, cache.port).apply(
                lambda v: redis_url(str(v[0]), str(v[1]), int(v[2])))),
            ca_files={"postgres-ca.pem": database.server_ca, "redis-ca.pem": cache.server_ca},
        )  # fmt: skip
        layer_args = args.layer(data)
        accounts = layer_args.accounts
        identities = Identities(f"{name}-identities", IdentitiesArgs(
            project=args.project, namespace=layer_args.namespace, bucket=bucket.bucket_name,
            model_prefix=args.bucket.model_prefix, backup_prefix=args.bucket.backup_prefix,
            worker_service_account=accounts.worker, backup_service_account=accounts.backup,
            restore_service_account=accounts.restore,
        ), opts=child)  # fmt: skip
        # Workload Identity: the layer's service accounts name the Google ones they act as
        layer_args = replace(layer_args, accounts=replace(
            accounts, worker_annotations={**accounts.worker_annotations, GKE_SERVICE_ACCOUNT: identities.worker_email},
            backup_annotations={**accounts.backup_annotations, GKE_SERVICE_ACCOUNT: identities.backup_email},
            restore_annotations={**accounts.restore_annotations, GKE_SERVICE_ACCOUNT: identities.restore_email}))
        if layer_args.backup:  # into the prefix the lifecycle rule expires and the backup account may write
            backup_uri = pulumi.Output.concat("gs://", bucket.bucket_name, "/", args.bucket.backup_prefix)
            layer_args = replace(layer_args, backup=layer_args.backup.into(backup_uri, "gs"))
        # No credential in it (the exec plugin fetches a token at each use): `status` reads it from the outputs.
        self.kubeconfig = kubeconfig(cluster.cluster_name, cluster.endpoint, cluster.ca_certificate, args.project,
                                     args.region)  # fmt: skip
        provider = k8s.Provider(f"{name}-gke", kubeconfig=self.kubeconfig, delete_unreachable=False,
                                opts=pulumi.ResourceOptions(parent=self, depends_on=cluster.node_pools))  # fmt: skip
        on_cluster = pulumi.ResourceOptions(parent=self, providers=[provider])
        layer = KubernetesLayer(f"{name}-k8s", layer_args, pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[cluster, database, cache, identities])))  # fmt: skip
        self.cluster_name = cluster.cluster_name
        self.database_ip = database.private_ip
        self.database_instance = database.instance_name
        self.cache_host = cache.host
        self.bucket = bucket.bucket_name
        self.namespace = layer.namespace
        self.gateway_service = layer.gateway_service
        self.pool_url = layer.pool_url
        self.admin_api_key = layer.admin_api_key
        self.register_outputs({"cluster_name": self.cluster_name, "database_ip": self.database_ip,
                               "cache_host": self.cache_host, "bucket": self.bucket, "namespace": self.namespace,
                               "gateway_service": self.gateway_service})  # fmt: skip
