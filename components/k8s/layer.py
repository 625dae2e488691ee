"""The Kubernetes layer: everything HelixFlow puts on a cluster, whichever target made the cluster.

    KubernetesLayer -> ClusterAddons (Helm releases marked install) -> DataStores (development clusters
    only) -> Runtime (namespace, secrets, migrations, gateway / auth / monitoring) -> InferencePool
    (sglang-router, SGLang workers) -> NetworkPolicies, Edge (Ingress, certificates), Monitoring
    (ServiceMonitors, PrometheusRule, dashboards, Alertmanager)

The `kubernetes` target builds it on a cluster from a kubeconfig; the cloud targets on the cluster
they create, through a provider made from its credentials (pass it in `opts.providers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import pulumi

from helixflow.components.k8s.accounts import AccountsArgs, ServiceAccounts, WorkloadAccounts
from helixflow.components.k8s.addons import AddonsArgs, ClusterAddons
from helixflow.components.k8s.backup import APP as BACKUP_APP
from helixflow.components.k8s.backup import BackupJob, BucketBackup
from helixflow.components.k8s.data import DataArgs, DataStores, InClusterData
from helixflow.components.k8s.edge import Edge, EdgeArgs
from helixflow.components.k8s.monitoring import Monitoring, MonitoringArgs, SlackReceiver
from helixflow.components.k8s.network import NetworkArgs, NetworkPolicies
from helixflow.components.k8s.pool import GpuPlacement, InferencePool, PoolArgs
from helixflow.components.k8s.restore import APP as RESTORE_APP
from helixflow.components.k8s.restore import RestoreArgs, RestoreJob
from helixflow.components.k8s.runtime import (
    ADMIN_URL_KEY,
    DATA_CA_DIR,
    DATA_CA_SECRET,
    DATABASE_URL_KEY,
    MIGRATIONS_SECRET,
    SECRET_NAME,
    AdminAccount,
    Runtime,
    RuntimeArgs,
    RuntimeSecrets,
    Scaling,
)
from helixflow.runtime.pool.sglang_worker import SGLangWorkerSpec
from helixflow.runtime.security.api_keys import derive_api_key

TYPE = "helixflow:k8s:Layer"


@dataclass(frozen=True)
class ExternalData:
    database_url: pulumi.Input[str]  # what the services connect with: a role owning schema `helixflow`
    redis_url: pulumi.Input[str]
    # file name -> PEM: the data stores' CAs, mounted read-only at DATA_CA_DIR in every runtime pod (the URLs
    # name them, e.g. sslrootcert=/etc/helixflow/ca/postgres-ca.pem); empty when the image's store has them
    ca_files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The database's admin, for the migrations Job only: it makes database_url's role and schema first
    # (runtime/db/roles.py). None: database_url is used as is, migrations included.
    database_admin_url: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class LayerArgs:
    namespace_prefix: str
    runtime_image: str
    sglang_image: str
    data: ExternalData | InClusterData
    secret_key: pulumi.Input[str]
    pool_api_key: pulumi.Input[str]
    worker: SGLangWorkerSpec
    workers: int = 2
    router_replicas: int = 2
    placement: GpuPlacement = field(default_factory=GpuPlacement)
    scaling: Scaling = field(default_factory=Scaling)
    addons: AddonsArgs = field(default_factory=AddonsArgs)
    domain: str | None = None  # None: a self-signed CA signs the endpoint's certificate
    acme_email: str | None = None
    acme_server: Literal["production", "staging"] = "production"
    slack: SlackReceiver | None = None  # Alertmanager's Slack receiver
    admin_tenant: str = "default"  # the first tenant, whose admin's API key is the layer's `admin_api_key`
    accounts: WorkloadAccounts = field(default_factory=WorkloadAccounts)  # what the cloud identities bind
    backup: BucketBackup | None = None  # the daily pg_dump CronJob into the stack's bucket (None: no job)

    @property
    def namespace(self) -> str:
        return self.namespace_prefix

    @property
    def data_namespace(self) -> str | None:
        return f"{self.namespace_prefix}-data" if isinstance(self.data, InClusterData) else None


class KubernetesLayer(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for arguments no cluster could run."""

    namespace: pulumi.Output[str]
    gateway_service: pulumi.Output[str]
    pool_url: pulumi.Output[str]
    admin_api_key: pulumi.Output[str]

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.worker.api_key is not None:
            raise ValueError("the worker spec's api_key comes from the layer's pool_api_key; leave it unset")
        args.accounts.validate()
        restore = self._restore_args(args)
        if restore:
            restore.validate()
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        addons = ClusterAddons(f"{name}-addons", args.addons, opts=child)
        ca_files: dict[str, pulumi.Input[str]] = {}
        if isinstance(args.data, InClusterData):
            assert args.data_namespace is not None
            stores = DataStores(f"{name}-data", DataArgs(namespace=args.data_namespace, stores=args.data), opts=child)
            database_url: pulumi.Input[str] = stores.database_url
            admin_url: pulumi.Input[str] | None = stores.database_admin_url
            redis_url: pulumi.Input[str] = stores.redis_url
            runtime_opts = pulumi.ResourceOptions(parent=self, depends_on=[stores])
        else:
            database_url, redis_url = args.data.database_url, args.data.redis_url
            admin_url = args.data.database_admin_url
            ca_files = dict(args.data.ca_files)
            runtime_opts = child
        pool_url = f"http://sglang-router.{args.namespace}.svc.cluster.local:8082"
        # secret_key is secret, and so is what is derived from it
        admin_key: pulumi.Output[str] = pulumi.Output.secret(args.secret_key).apply(
            lambda secret: derive_api_key(secret, "admin"))  # fmt: skip
        runtime = Runtime(f"{name}-runtime", RuntimeArgs(
            namespace=args.namespace, image=args.runtime_image, pool_url=pool_url, scaling=args.scaling,
            admin=AdminAccount(api_key=admin_key, tenant=args.admin_tenant), ca_files=ca_files,
            secrets=RuntimeSecrets(database_url=database_url, redis_url=redis_url, secret_key=args.secret_key,
                                   pool_api_key=args.pool_api_key, database_admin_url=admin_url),
        ), opts=runtime_opts)  # fmt: skip
        in_runtime = pulumi.ResourceOptions(parent=self, depends_on=[runtime])
        accounts = ServiceAccounts(f"{name}-accounts", AccountsArgs(namespace=args.namespace, accounts=args.accounts),
                                   opts=in_runtime)  # fmt: skip
        under_accounts = pulumi.ResourceOptions(parent=self, depends_on=[runtime, accounts])
        pool = InferencePool(f"{name}-pool", PoolArgs(
            namespace=args.namespace, runtime_image=args.runtime_image, sglang_image=args.sglang_image,
            secret_name=SECRET_NAME, worker=args.worker, workers=args.workers,
            router_replicas=args.router_replicas, placement=args.placement, service_account=args.accounts.worker,
        ), opts=under_accounts)  # fmt: skip
        if restore:
            BackupJob(f"{name}-backup", restore.backup, opts=under_accounts)
            RestoreJob(f"{name}-restore", restore, opts=under_accounts)
        NetworkPolicies(f"{name}-network", NetworkArgs(namespace=args.namespace, data_namespace=args.data_namespace,
                                                       bucket_jobs=(BACKUP_APP, RESTORE_APP) if restore else ()),
                        opts=in_runtime)  # fmt: skip
        Edge(f"{name}-edge", EdgeArgs(
            namespace=args.namespace, domain=args.domain, acme_email=args.acme_email, acme_server=args.acme_server,
            wait_for=tuple(addons.dependencies("cert_manager", "ingress_nginx")),
        ), opts=in_runtime)  # fmt: skip
        Monitoring(f"{name}-monitoring", MonitoringArgs(
            namespace=args.namespace, slack=args.slack,
            wait_for=tuple(addons.dependencies("kube_prometheus_stack")),
        ), opts=pulumi.ResourceOptions(parent=self, depends_on=[pool]))  # fmt: skip
        self.namespace = runtime.namespace
        self.gateway_service = runtime.gateway_service
        self.pool_url = pool.url
        self.admin_api_key = admin_key
        self.register_outputs({"namespace": self.namespace, "gateway_service": self.gateway_service,
                               "pool_url": self.pool_url, "admin_api_key": self.admin_api_key})  # fmt: skip

    @staticmethod
    def _restore_args(args: LayerArgs) -> RestoreArgs | None:
        """The backup CronJob's and the restore template's arguments (None: the stack runs no backups)."""
        if not args.backup:
            return None
        has_admin = (args.data.database_admin_url is not None if isinstance(args.data, ExternalData)
                     else True)  # fmt: skip  (the in-cluster stores always make an admin)
        ca_secret = DATA_CA_SECRET if isinstance(args.data, ExternalData) and args.data.ca_files else None
        backup = args.backup.job_args(args.namespace, SECRET_NAME, DATABASE_URL_KEY, args.accounts.backup,
                                      ca_secret=ca_secret)  # fmt: skip
        return RestoreArgs(backup=replace(backup, ca_dir=DATA_CA_DIR), runtime_image=args.runtime_image,
                           service_account=args.accounts.restore,
                           admin_url_secret=MIGRATIONS_SECRET if has_admin else None, admin_url_key=ADMIN_URL_KEY)

