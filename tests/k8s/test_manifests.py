"""Offline, under Pulumi's mocks: every object the Kubernetes layer creates, rendered as the manifest the
provider would send, validates strictly against the Kubernetes schema of the configured version, and
every pod template meets Pod Security `restricted` (the simulated cluster's admission checks it for real)."""

from __future__ import annotations

import asyncio
from typing import Any

import kubernetes_validate
import pulumi
import pytest

from helixflow.stacks.config import KubernetesStack, parse_config
from helixflow.stacks.secrets import StackSecrets
from helixflow.stacks.targets.kubernetes import ClusterAccess
from helixflow.stacks.targets.kubernetes_program import build_kubernetes_program

pytestmark = pytest.mark.unit
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def plain(value: Any) -> Any:
    """Mock inputs as a manifest: secrets unwrapped, whole floats back to ints."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


CUSTOM_GROUPS = ("cert-manager.io/", "monitoring.coreos.com/")  # custom resources: no bundled schema
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def as_manifest(type_token: str, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """A Kubernetes object's inputs as the manifest the provider sends; None for anything else (a Helm release,
    a provider, a component). Used for the plan runner's records too (tests/k8s/test_checkov.py)."""
    if type_token == HELM_RELEASE or not type_token.startswith("kubernetes:") or type_token.startswith(
            "kubernetes:pulumi"):  # fmt: skip
        return None
    group_version, kind = type_token.removeprefix("kubernetes:").rsplit(":", 1)
    return {**plain(inputs), "apiVersion": group_version.removeprefix("core/"), "kind": kind}


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []  # built-in kinds, validated against the Kubernetes schema
        self.custom: list[dict[str, Any]] = []  # cert-manager's and the Prometheus operator's
        self.releases: list[dict[str, Any]] = []
        self.components: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        obj = as_manifest(args.typ, dict(args.inputs))
        if args.typ == HELM_RELEASE:
            self.releases.append(plain(dict(args.inputs)))
        elif obj is not None:
            (self.custom if obj["apiVersion"].startswith(CUSTOM_GROUPS) else self.objects).append(obj)
        elif args.typ.startswith("helixflow:"):
            self.components.append(args.typ)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def render(settings: dict[str, Any], **shared: Any) -> Recorder:
    config = parse_config({"target": "kubernetes", "kubernetes": settings, **shared})
    assert isinstance(config, KubernetesStack)
    secrets, _ = StackSecrets.from_config({})
    asyncio.set_event_loop(asyncio.new_event_loop())
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="helixflow", stack="unit", preview=False)
    access = ClusterAccess(kubeconfig="apiVersion: v1", context=None)
    program = build_kubernetes_program(config, lambda: secrets, access)
    pulumi.runtime.test(program)()
    return recorder


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in objects:
        spec = obj.get("spec", {})
        template = spec.get("template") or {}
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            found.append((f"{obj['kind']} {obj['metadata'].get('name', '')}", template["spec"]))
    return found


@pytest.mark.parametrize("data", ["in-cluster", "external"])
def test_every_object_validates_strictly_against_the_kubernetes_schema(data: str) -> None:
    settings: dict[str, Any] = {"data": {"mode": data}}
    if data == "external":
        settings["data"] |= {"postgres_url": "postgresql://u:p@db.example.com/h?sslmode=verify-full",
                             "redis_url": "rediss://default:p@cache.example.com:6379/0"}  # fmt: skip
    recorder = render(settings)
    kinds = {obj["kind"] for obj in recorder.objects}
    assert {"Namespace", "Secret", "Job", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy", "Ingress", "ConfigMap"} <= kinds  # fmt: skip
    assert ("StatefulSet" in kinds) == (data == "in-cluster")
    for obj in recorder.objects:
        kubernetes_validate.validate(obj, "1.34", strict=True)  # raises on an unknown or misplaced field


def test_a_misspelt_field_fails_the_validation() -> None:
    """The validation can fail: a field the schema does not have is refused in strict mode."""
    deployment = next(o for o in render({}).objects if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.34", strict=True)


def test_every_pod_meets_pod_security_restricted() -> None:
    recorder = render({})
    specs = pod_specs(recorder.objects)
    assert len(specs) >= 8  # gateway, auth, monitoring, router, workers, migrations, postgres, redis
    for what, spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True, what
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", what
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"], what
            assert context["readOnlyRootFilesystem"] is True, what
            assert container["resources"]["requests"] and container["resources"]["limits"], what
            assert ":" in container["image"] and not container["image"].endswith(":latest"), what


def test_workers_land_only_on_gpu_nodes_and_the_services_spread_across_zones() -> None:
    recorder = render({"workers": 4, "gpus_per_worker": 2})
    deployments = {o["metadata"]["name"]: o for o in recorder.objects if o["kind"] == "Deployment"}
    workers = deployments["sglang-worker"]["spec"]
    assert workers["replicas"] == 4
    pod = workers["template"]["spec"]
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}]}]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert "--tp-size" in container["command"] and container["command"][1] == "-c"
    assert not any(arg.startswith("--api-key") for arg in container["command"]), "the key stays in the Secret"
    assert {"name": "SGLANG_API_KEY", "valueFrom": {"secretKeyRef": {"name": "helixflow-runtime",
            "key": "HELIXFLOW_POOL_API_KEY"}}} in container["env"]  # fmt: skip
    assert {v["name"]: v for v in pod["volumes"]}["dshm"]["emptyDir"]["medium"] == "Memory"
    assert container["startupProbe"]["periodSeconds"] * container["startupProbe"]["failureThreshold"] >= 1800
    for name in ("gateway", "auth", "monitoring", "sglang-router"):
        spec = deployments[name]["spec"]["template"]["spec"]
        assert "tolerations" not in spec, name  # nothing but the workers tolerates the GPU taint
        assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    hpas = {o["metadata"]["name"]: o for o in recorder.objects if o["kind"] == "HorizontalPodAutoscaler"}
    hpa = hpas["gateway"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 20)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_the_router_discovers_workers_with_only_the_rbac_it_needs() -> None:
    recorder = render({})
    role = next(o for o in recorder.objects if o["kind"] == "Role")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    router = next(o for o in recorder.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "sglang-router")
    command = router["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--selector") + 1] == "app.kubernetes.io/name=sglang-worker"
    assert command[command.index("--service-discovery-namespace") + 1] == "helixflow"
    assert command[command.index("--service-discovery-port") + 1] == "30000"
    assert router["spec"]["replicas"] == 2


def test_the_runtime_namespace_enforces_restricted_and_denies_by_default() -> None:
    recorder = render({})
    namespaces = {o["metadata"]["name"]: o for o in recorder.objects if o["kind"] == "Namespace"}
    assert namespaces["helixflow"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policies = {(o["metadata"]["namespace"], o["metadata"]["name"]): o["spec"] for o in recorder.objects
                if o["kind"] == "NetworkPolicy"}  # fmt: skip
    for namespace in ("helixflow", "helixflow-data"):
        deny = policies[(namespace, "default-deny")]
        assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
        assert not deny.get("ingress") and not deny.get("egress")
    gateway = policies[("helixflow", "gateway")]
    sources = [peer for rule in gateway["ingress"] for peer in rule["from"]]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}} in sources


def test_the_migrations_job_bootstraps_the_admin_whose_key_the_stack_derives() -> None:
    from helixflow.runtime.security.api_keys import derive_api_key, known_api_key

    recorder = render({"admin_tenant": "platform"})
    job = next(o for o in recorder.objects if o["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert script.index("helixflow.runtime.db upgrade") < script.index("helixflow.runtime.bootstrap bootstrap")
    assert "--tenant platform" in script and script.endswith(">/dev/null")
    secret = next(o for o in recorder.objects if o["kind"] == "Secret"
                  and o["metadata"]["name"] == "helixflow-runtime")["stringData"]  # fmt: skip
    key = secret["HELIXFLOW_BOOTSTRAP_API_KEY"]
    assert key == derive_api_key(secret["HELIXFLOW_SECRET_KEY"], "admin") and known_api_key(key).prefix == key[:11]
    assert key != derive_api_key(secret["HELIXFLOW_SECRET_KEY"], "other")


def _migrations_secret_refs(obj: dict[str, Any]) -> list[str]:
    """The Secrets a workload's containers read, by env_from or by key."""
    spec = obj["spec"]["template"]["spec"]
    names = []
    for container in spec["containers"]:
        names += [source["secretRef"]["name"] for source in container.get("envFrom") or []]
        names += [var["valueFrom"]["secretKeyRef"]["name"] for var in container.get("env") or []
                  if "secretKeyRef" in (var.get("valueFrom") or {})]
    return names


@pytest.mark.parametrize("data", ["in-cluster", "external"])
def test_the_services_get_the_runtime_role_and_only_the_migrations_job_the_admin_url(data: str) -> None:
    settings: dict[str, Any] = {"data": {"mode": data}}
    if data == "external":
        settings["data"] |= {"postgres_url": "postgresql://app:app-pw@db.example.com/h?sslmode=verify-full",
                             "postgres_admin_url": "postgresql://master:master-pw@db.example.com/h",
                             "redis_url": "rediss://default:p@cache.example.com:6379/0"}  # fmt: skip
    recorder = render(settings)
    secrets = {o["metadata"]["name"]: o["stringData"] for o in recorder.objects if o["kind"] == "Secret"}
    runtime_url = secrets["helixflow-runtime"]["HELIXFLOW_DATABASE_URL"]
    admin_url = secrets["helixflow-migrations"]["HELIXFLOW_DATABASE_ADMIN_URL"]
    if data == "external":
        assert runtime_url.startswith("postgresql://app:app-pw@") and admin_url.startswith("postgresql://master:")
    else:
        assert runtime_url.startswith("postgresql://helixflow_app:") and admin_url.startswith("postgresql://postgres:")
    assert "HELIXFLOW_DATABASE_ADMIN_URL" not in secrets["helixflow-runtime"]
    admin_password = admin_url.split(":")[2].split("@")[0]
    assert admin_password not in str(secrets["helixflow-runtime"])
    job = next(o for o in recorder.objects if o["kind"] == "Job")
    assert "helixflow-migrations" in _migrations_secret_refs(job)
    for workload in (o for o in recorder.objects if o["kind"] in ("Deployment", "StatefulSet", "CronJob")):
        assert "helixflow-migrations" not in _migrations_secret_refs(workload), workload["metadata"]["name"]


def test_a_single_external_url_is_used_as_is_migrations_included() -> None:
    recorder = render({"data": {"mode": "external",
                                "postgres_url": "postgresql://owner:pw@db.example.com/h?sslmode=verify-full",
                                "redis_url": "rediss://default:p@cache.example.com:6379/0"}})  # fmt: skip
    secrets = {o["metadata"]["name"] for o in recorder.objects if o["kind"] == "Secret"}
    assert "helixflow-migrations" not in secrets
    job = next(o for o in recorder.objects if o["kind"] == "Job")
    assert _migrations_secret_refs(job) == ["helixflow-runtime"]
