"""What the `aws` and `gcp` programs share: the Kubernetes layer's arguments on the cluster they create, from
the runtime settings both sections have (ClusterRuntimeSettings). Each cloud names only its add-ons."""

from __future__ import annotations

import pulumi

from helixflow.components.k8s.addons import AddonsArgs
from helixflow.components.k8s.backup import BucketBackup
from helixflow.components.k8s.layer import ExternalData, LayerArgs
from helixflow.components.k8s.pool import GpuPlacement
from helixflow.components.k8s.runtime import Scaling
from helixflow.runtime.pool.sglang_worker import SGLangWorkerSpec
from helixflow.stacks.config.cloud import ClusterRuntimeSettings
from helixflow.stacks.secrets import StackSecrets

# the label and taint both clouds' GPU nodes carry (the device plugin's / GKE's own)
GPU_PLACEMENT = GpuPlacement(node_selector={"nvidia.com/gpu.present": "true"}, toleration_key="nvidia.com/gpu")


def cloud_layer_args(s: ClusterRuntimeSettings, secrets: StackSecrets, data: ExternalData, addons: AddonsArgs,
                     domain: str | None = None, acme_email: str | None = None) -> LayerArgs:  # fmt: skip
    model_dir = "/models/model" if s.model.source == "bucket" else s.model.id
    worker = SGLangWorkerSpec(
        model_path=model_dir, served_model_name=s.model.name, gpus=s.gpus_per_worker, tp_size=s.gpus_per_worker,
        context_length=s.model.context_length, model_uri=s.model.uri if s.model.source == "bucket" else None,
    )  # fmt: skip
    return LayerArgs(
        namespace_prefix=s.namespace_prefix, runtime_image=s.images.runtime, sglang_image=s.images.sglang, data=data,
        secret_key=pulumi.Output.secret(secrets.secret_key), pool_api_key=pulumi.Output.secret(secrets.router_api_key),
        worker=worker, workers=s.workers, router_replicas=s.router_replicas, placement=GPU_PLACEMENT,
        scaling=Scaling(min_replicas=s.scaling.min_replicas, max_replicas=s.scaling.max_replicas,
                        target_cpu_percent=s.scaling.target_cpu_percent),
        addons=addons, domain=domain, acme_email=acme_email,
        # the platform points it at its bucket's backup prefix
        backup=BucketBackup(image=s.images.postgres, schedule=s.backup.schedule) if s.backup.enabled else None,
    )  # fmt: skip
