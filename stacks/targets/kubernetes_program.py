"""The `kubernetes` target's Pulumi program: a provider from the kubeconfig, then the Kubernetes layer."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s.accounts import WorkloadAccounts
from helixflow.components.k8s.addons import AddonsArgs
from helixflow.components.k8s.backup import APP as BACKUP_APP
from helixflow.components.k8s.backup import BucketBackup
from helixflow.components.k8s.data import InClusterData
from helixflow.components.k8s.layer import ExternalData, KubernetesLayer, LayerArgs
from helixflow.components.k8s.monitoring import SlackReceiver
from helixflow.components.k8s.pool import GpuPlacement
from helixflow.components.k8s.restore import APP as RESTORE_APP
from helixflow.components.k8s.runtime import Scaling
from helixflow.runtime.pool.sglang_worker import SGLangWorkerSpec
from helixflow.stacks.config import KubernetesStack
from helixflow.stacks.secrets import SecretSource, StackSecrets
from helixflow.stacks.targets.base import Program
from helixflow.stacks.targets.kubernetes import ClusterAccess, kubeconfig_path

# What `helixflow status` reads back from the cluster: kind, namespace suffix, name.
WORKLOADS = (
    ("Deployment", "", "gateway"), ("Deployment", "", "auth"), ("Deployment", "", "monitoring"),
    ("Deployment", "", "sglang-router"), ("Deployment", "", "sglang-worker"),
)  # fmt: skip
DATA_WORKLOADS = (("StatefulSet", "-data", "postgres"), ("StatefulSet", "-data", "redis"))


def layer_args(config: KubernetesStack, secrets: StackSecrets) -> LayerArgs:
    k = config.kubernetes
    data: ExternalData | InClusterData
    if k.data.mode == "external":
        assert k.data.postgres_url and k.data.redis_url  # the configuration model requires them
        admin_url = k.data.postgres_admin_url
        data = ExternalData(database_url=pulumi.Output.secret(k.data.postgres_url),
                            redis_url=pulumi.Output.secret(k.data.redis_url),
                            database_admin_url=pulumi.Output.secret(admin_url) if admin_url else None)  # fmt: skip
    else:
        data = InClusterData(
            postgres_image=k.images.postgres, redis_image=k.images.redis,
            postgres_password=pulumi.Output.secret(secrets.postgres_password),
            postgres_runtime_password=pulumi.Output.secret(secrets.postgres_runtime_password),
            redis_password=pulumi.Output.secret(secrets.redis_password),
            postgres_storage=k.data.postgres_storage, redis_storage=k.data.redis_storage,
            storage_class=k.data.storage_class,
        )  # fmt: skip
    model_dir = "/models/model" if k.model.source == "bucket" else k.model.id
    worker = SGLangWorkerSpec(
        model_path=model_dir, served_model_name=k.model.name, gpus=k.gpus_per_worker, tp_size=k.gpus_per_worker,
        context_length=k.model.context_length, model_uri=k.model.uri if k.model.source == "bucket" else None,
    )  # fmt: skip
    return LayerArgs(
        namespace_prefix=k.namespace_prefix, runtime_image=k.images.runtime, sglang_image=k.images.sglang, data=data,
        secret_key=pulumi.Output.secret(secrets.secret_key), pool_api_key=pulumi.Output.secret(secrets.router_api_key),
        worker=worker, workers=k.workers, router_replicas=k.router_replicas,
        placement=GpuPlacement(node_selector=dict(k.gpu_pool.node_selector), toleration_key=k.gpu_pool.toleration_key),
        scaling=Scaling(min_replicas=k.scaling.min_replicas, max_replicas=k.scaling.max_replicas,
                        target_cpu_percent=k.scaling.target_cpu_percent),
        addons=AddonsArgs(**k.addons.model_dump(), load_balancer_annotations=dict(k.edge.load_balancer_annotations),
                          gpu_toleration_key=k.gpu_pool.toleration_key),
        domain=config.domain, acme_email=config.acme_email, acme_server=k.edge.acme_server, admin_tenant=k.admin_tenant,
        slack=SlackReceiver(secret=k.alerting.slack_secret, key=k.alerting.slack_secret_key,
                            channel=k.alerting.slack_channel) if k.alerting.slack_secret else None,
        accounts=WorkloadAccounts(worker_annotations=dict(k.worker_service_account_annotations),
                                  backup_annotations=dict(k.backup.service_account_annotations),
                                  restore_annotations=dict(k.backup.restore_service_account_annotations)),
        backup=BucketBackup(image=k.images.postgres, schedule=k.backup.schedule, bucket_uri=k.backup.bucket_uri)
        if k.backup.bucket_uri else None,
    )  # fmt: skip


def build_kubernetes_program(config: KubernetesStack, secrets: SecretSource, access: ClusterAccess) -> Program:
    k = config.kubernetes

    def program() -> None:
        args = layer_args(config, secrets())  # its secrets are Outputs: made inside the engine's run
        provider = k8s.Provider(
            "cluster", kubeconfig=pulumi.Output.secret(access.kubeconfig), context=access.context,
            delete_unreachable=False,
        )  # fmt: skip
        layer = KubernetesLayer("helixflow", args, pulumi.ResourceOptions(providers=[provider]))
        workloads = [*WORKLOADS, *(DATA_WORKLOADS if k.data.mode == "in-cluster" else ())]
        pulumi.export("target", "kubernetes")
        pulumi.export("namespace", layer.namespace)
        pulumi.export("gateway_service", layer.gateway_service)
        pulumi.export("pool_url", layer.pool_url)
        pulumi.export("admin_tenant", k.admin_tenant)
        pulumi.export("admin_api_key", layer.admin_api_key)
        pulumi.export("model", k.model.name)
        if config.domain:
            pulumi.export("endpoint", f"https://{config.domain}")
        pulumi.export("kubeconfig", str(kubeconfig_path(config)))
        pulumi.export("context", access.context or "")
        if k.backup.bucket_uri:  # what `helixflow backup` runs
            pulumi.export("backup_cron_job", {"namespace": k.namespace_prefix, "name": BACKUP_APP,
                                              "restore": RESTORE_APP, "bucket_uri": k.backup.bucket_uri})  # fmt: skip
        pulumi.export("workloads", [
            {"kind": kind, "namespace": f"{k.namespace_prefix}{suffix}", "name": name}
            for kind, suffix, name in workloads
        ])  # fmt: skip

    return program
