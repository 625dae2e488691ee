"""The inference pool on a cluster: sglang-router (discovering the workers through the Kubernetes API,
with only the RBAC that needs) in front of SGLang workers on the GPU nodes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from pydantic import SecretStr

from helixflow.components.k8s import pods
from helixflow.components.k8s.accounts import WORKER_ACCOUNT
from helixflow.components.k8s.cloud_cli import CLI_ENV, CLI_IMAGES, scheme_of, sync_down
from helixflow.components.k8s.pods import Resources
from helixflow.runtime.pool.router import RouterSpec, ServiceDiscovery
from helixflow.runtime.pool.sglang_worker import API_KEY_ENV, SGLangWorkerSpec

TYPE = "helixflow:k8s:InferencePool"
ROUTER_PORT, ROUTER_METRICS_PORT, WORKER_PORT = 8082, 29000, 30000
GPU = "nvidia.com/gpu"
POOL_KEY_ENV = "HELIXFLOW_POOL_API_KEY"
SGLANG_USER = 10001  # above the hosts' own users (checkov CKV_K8S_40): the caches are on volumes, any uid works


@dataclass(frozen=True)
class GpuPlacement:
    """Where the workers may run: nodes with these labels, tolerating the GPU taint."""

    node_selector: dict[str, str] = field(default_factory=lambda: {"nvidia.com/gpu.present": "true"})
    toleration_key: str = GPU


@dataclass(frozen=True)
class PoolArgs:
    namespace: str
    runtime_image: str  # the router runs from the runtime image (sglang-router is one of its packages)
    sglang_image: str
    secret_name: str  # holds HELIXFLOW_POOL_API_KEY
    worker: SGLangWorkerSpec
    workers: int = 2
    router_replicas: int = 2
    placement: GpuPlacement = GpuPlacement()
    model_cache_size: str = "200Gi"
    service_account: str = WORKER_ACCOUNT  # the one the cloud identity lets read the model prefix
    # Model loading takes minutes (tens for the largest): the startup probe allows this long.
    startup_budget_seconds: int = 1800

    def validate(self) -> None:
        if self.workers < 0 or self.router_replicas < 1:
            raise ValueError("workers must be >= 0 and router_replicas >= 1")
        if self.startup_budget_seconds < 60:
            raise ValueError("the workers' startup budget must allow at least 60 s of model loading")
        if self.worker.model_uri is not None:
            scheme_of(self.worker.model_uri)
            if not self.worker.model_path.startswith("/models/"):
                raise ValueError(f"a bucket model is synced into the model cache: model_path "
                                 f"{self.worker.model_path!r} must be under /models/")  # fmt: skip


class InferencePool(pulumi.ComponentResource):
    """Router and workers. Raises ValueError for bad arguments. `url` is the router's in-cluster URL."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: PoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        self._args = args
        self._router(name)
        self._workers(name)
        self.url = pulumi.Output.from_input(f"http://sglang-router.{args.namespace}.svc.cluster.local:{ROUTER_PORT}")
        self.register_outputs({"url": self.url})

    def _meta(self, name: str, app: str, annotations: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=self._args.namespace, labels=pods.labels(app),
                                          annotations=annotations)  # fmt: skip

    def _router(self, name: str) -> None:
        a, child = self._args, pulumi.ResourceOptions(parent=self)
        account = k8s.core.v1.ServiceAccount(f"{name}-router-sa", metadata=self._meta("sglang-router", "sglang-router"),
                                             opts=child)  # fmt: skip
        role = k8s.rbac.v1.Role(
            f"{name}-router-role", metadata=self._meta("sglang-router", "sglang-router"),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["get", "list", "watch"])],
            opts=child,
        )  # fmt: skip
        k8s.rbac.v1.RoleBinding(
            f"{name}-router-binding", metadata=self._meta("sglang-router", "sglang-router"),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name="sglang-router"),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name="sglang-router", namespace=a.namespace)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, account]),
        )  # fmt: skip
        spec = RouterSpec(
            host="0.0.0.0", port=ROUTER_PORT, policy="cache_aware", prometheus_host="0.0.0.0",
            prometheus_port=ROUTER_METRICS_PORT, api_key_env=POOL_KEY_ENV,
            service_discovery=ServiceDiscovery(selector={pods.APP_LABEL: "sglang-worker"}, namespace=a.namespace,
                                               port=WORKER_PORT),
        )  # fmt: skip
        container = k8s.core.v1.ContainerArgs(
            name="router", image=a.runtime_image, command=spec.argv(python="python"),
            env_from=pods.env_from_secret(a.secret_name),
            env=pods.env({"NO_COLOR": "1", "RUST_LOG_STYLE": "never"}),
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=ROUTER_PORT),
                   k8s.core.v1.ContainerPortArgs(name="metrics", container_port=ROUTER_METRICS_PORT)],
            resources=Resources("250m", "256Mi", "2", "1Gi").args(), security_context=pods.container_security(),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
            startup_probe=pods.http_probe("/liveness", ROUTER_PORT, period=2, failures=30),
            # /readiness: at least one healthy worker (the router's /health stays 200 with none)
            readiness_probe=pods.http_probe("/readiness", ROUTER_PORT, period=5),
            liveness_probe=pods.http_probe("/liveness", ROUTER_PORT, period=10),
        )  # fmt: skip
        k8s.apps.v1.Deployment(
            f"{name}-router", metadata=self._meta("sglang-router", "sglang-router"),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=a.router_replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={pods.APP_LABEL: "sglang-router"}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pods.labels("sglang-router")),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name="sglang-router", security_context=pods.pod_security(10001),
                        containers=[container], volumes=[pods.scratch_volume()],
                        topology_spread_constraints=pods.zone_spread("sglang-router"),
                    ),
                ),
            ),
            # ready only once a worker is: its readiness must not hold the rollout when there are none yet
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account], custom_timeouts=pulumi.CustomTimeouts(
                create="10m", update="10m")),
        )  # fmt: skip
        k8s.core.v1.Service(
            f"{name}-router-service", metadata=self._meta("sglang-router", "sglang-router"),
            spec=k8s.core.v1.ServiceSpecArgs(selector={pods.APP_LABEL: "sglang-router"}, ports=[
                k8s.core.v1.ServicePortArgs(name="http", port=ROUTER_PORT, target_port="http"),
                k8s.core.v1.ServicePortArgs(name="metrics", port=ROUTER_METRICS_PORT, target_port="metrics")]),
            opts=child,
        )  # fmt: skip

    def _workers(self, name: str) -> None:
        a = self._args
        # The key is in the runtime's Secret; the command line names it as $(SGLANG_API_KEY), which
        # Kubernetes expands from the container's environment, so the spec only needs to know there is one.
        worker = a.worker.model_copy(update={"api_key": SecretStr("in-the-secret")})
        gpu_limit = {GPU: str(worker.gpus)}
        secret_env = [
            k8s.core.v1.EnvVarArgs(name=API_KEY_ENV, value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=a.secret_name, key=POOL_KEY_ENV)))
        ]  # fmt: skip
        period = 10
        container = k8s.core.v1.ContainerArgs(
            name="sglang", image=a.sglang_image, command=worker.command(),
            env=[*pods.env(worker.env()), *secret_env],
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=WORKER_PORT)],
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": str(4 * worker.gpus), "memory": f"{32 * worker.gpus}Gi", **gpu_limit},
                limits={"cpu": str(8 * worker.gpus), "memory": f"{96 * worker.gpus}Gi", **gpu_limit},
            ),
            security_context=pods.container_security(),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="dshm", mount_path="/dev/shm"),
                           k8s.core.v1.VolumeMountArgs(name="models", mount_path="/models"),
                           k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
            startup_probe=pods.http_probe("/health", WORKER_PORT, period=period,
                                          failures=a.startup_budget_seconds // period),
            # readiness gates routing: a worker that cannot generate gets no traffic
            readiness_probe=pods.http_probe("/health_generate", WORKER_PORT, period=10, failures=3),
            liveness_probe=pods.http_probe("/health", WORKER_PORT, period=15, failures=4),
        )  # fmt: skip
        affinity = k8s.core.v1.AffinityArgs(node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(node_selector_terms=[
                k8s.core.v1.NodeSelectorTermArgs(match_expressions=[
                    k8s.core.v1.NodeSelectorRequirementArgs(key=key, operator="In", values=[value])
                    for key, value in sorted(a.placement.node_selector.items())])])))  # fmt: skip
        # `up` does not wait for the workers: loading a large model takes tens of minutes, and GPUs may not be
        # there yet (a node pool scaling from zero). `helixflow status` shows their progress and why any is Pending.
        metadata = self._meta("sglang-worker", "sglang-worker", annotations={"pulumi.com/skipAwait": "true"})
        fetch = self._model_fetch()
        k8s.apps.v1.Deployment(
            f"{name}-workers", metadata=metadata,
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=a.workers,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={pods.APP_LABEL: "sglang-worker"}),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(  # no spare GPUs to surge into
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=1, max_surge=0),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pods.labels("sglang-worker")),
                    spec=k8s.core.v1.PodSpecArgs(
                        security_context=pods.pod_security(SGLANG_USER), affinity=affinity, containers=[container],
                        init_containers=[fetch] if fetch else None, service_account_name=a.service_account,
                        # only a bucket model needs cloud credentials: the token is what the identity exchanges
                        automount_service_account_token=fetch is not None, termination_grace_period_seconds=60,
                        tolerations=[k8s.core.v1.TolerationArgs(key=a.placement.toleration_key, operator="Exists",
                                                                effect="NoSchedule")],
                        volumes=[pods.scratch_volume("dshm", medium="Memory", size=worker.shm_size),
                                 pods.scratch_volume("models", size=a.model_cache_size), pods.scratch_volume()],
                        topology_spread_constraints=pods.zone_spread("sglang-worker"),
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )  # fmt: skip

    def _model_fetch(self) -> k8s.core.v1.ContainerArgs | None:
        """With a bucket model: an init container that syncs it into the model cache before SGLang starts (with
        the cloud's CLI image, so any SGLang image works). None when SGLang loads the model itself."""
        worker = self._args.worker
        if worker.model_uri is None:
            return None
        return k8s.core.v1.ContainerArgs(
            name="fetch-model", image=CLI_IMAGES[scheme_of(worker.model_uri)],
            command=sync_down(worker.model_uri, worker.model_path), env=pods.env(CLI_ENV),
            resources=Resources("500m", "512Mi", "2", "2Gi").args(), security_context=pods.container_security(),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="models", mount_path="/models"),
                           k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
        )  # fmt: skip
