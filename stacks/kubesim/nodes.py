"""The simulated cluster's nodes (plain Node objects kwok keeps Ready) and what its scheduler says."""

from __future__ import annotations

import time
from typing import Any

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.kubesim.cluster import GPU_POOL_LABEL, GPU_RESOURCE, GPU_TAINT, ZONES, NodePlan


def node_manifest(name: str, index: int, plan: NodePlan, gpus: int) -> dict[str, Any]:
    zone = ZONES[index % len(ZONES)]
    labels = {
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "sim", "type": "kwok",
        GPU_POOL_LABEL: "gpu" if gpus else "cpu",
    }  # fmt: skip
    cpu, memory = (plan.cpu_per_node, plan.memory_per_node)
    if gpus:
        cpu, memory = plan.cpu_per_gpu_node, plan.memory_per_gpu_node
    capacity = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "2000Gi"}
    spec: dict[str, Any] = {}
    if gpus:
        labels.update({"nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": plan.gpu_product,
                       "nvidia.com/gpu.count": str(gpus)})  # fmt: skip
        capacity[GPU_RESOURCE] = str(gpus)
        spec["taints"] = [GPU_TAINT]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {"kwok.x-k8s.io/node": "fake"}},
        "spec": spec,
        "status": {"capacity": capacity, "allocatable": capacity,
                   "nodeInfo": {"kubeletVersion": "fake", "operatingSystem": "linux", "architecture": "amd64"}},
    }  # fmt: skip


def create_nodes(api: Any, plan: NodePlan) -> None:
    manifests = [node_manifest(f"cpu-{i}", i, plan, 0) for i in range(plan.cpu_nodes)]
    manifests += [node_manifest(f"gpu-{i}", i, plan, plan.gpus_per_node) for i in range(plan.gpu_nodes)]
    for manifest in manifests:
        _create(api, "/api/v1/nodes", manifest)


STORAGE_CLASS = "sim-local"


def create_storage(api: Any, volumes: int = 16, size: str = "1Ti") -> None:
    """A default StorageClass and static volumes for it: nothing provisions volumes in the simulation, so
    StatefulSets' claims bind to these (a released one is not reused: there are plenty)."""
    storage_class = {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate", "reclaimPolicy": "Retain",
    }  # fmt: skip
    _create(api, "/apis/storage.k8s.io/v1/storageclasses", storage_class)
    for index in range(volumes):
        _create(api, "/api/v1/persistentvolumes", {
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"sim-volume-{index}"},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": STORAGE_CLASS, "persistentVolumeReclaimPolicy": "Retain",
                     "hostPath": {"path": f"/var/lib/helixflow-sim/volume-{index}"}},
        })  # fmt: skip


def _create(api: Any, path: str, manifest: dict[str, Any]) -> None:
    response = api.post(path, json=manifest)
    if response.status_code not in (201, 409):
        raise HelixFlowError(f"creating {manifest['kind']} {manifest['metadata']['name']} failed: "
                             f"{response.text[:300]}", hint="see the logs under the cluster's folder")  # fmt: skip


def _ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    tainted = any(t.get("key") == "node.kubernetes.io/not-ready" for t in node.get("spec", {}).get("taints") or [])
    return ready and not tainted


def wait_nodes_ready(api: Any, count: int, timeout: float) -> None:
    """Wait until `count` nodes are Ready and the node-lifecycle controller has lifted the not-ready taint."""
    deadline = time.monotonic() + timeout
    ready = 0
    while time.monotonic() < deadline:
        items = api.get("/api/v1/nodes").json().get("items", [])
        ready = sum(_ready(node) for node in items)
        if ready >= count:
            return
        time.sleep(0.3)
    raise HelixFlowError(f"{ready} of {count} simulated nodes became ready in {timeout:.0f}s",
                         hint="see the kwok and kube-controller-manager logs")  # fmt: skip


def describe_nodes(api: Any) -> list[dict[str, Any]]:
    rows = []
    for node in api.get("/api/v1/nodes").json().get("items", []):
        labels = node["metadata"].get("labels", {})
        rows.append({"name": node["metadata"]["name"], "ready": _ready(node),
                     "zone": labels.get("topology.kubernetes.io/zone", ""),
                     "gpus": int(node.get("status", {}).get("allocatable", {}).get(GPU_RESOURCE, 0)),
                     "gpu_product": labels.get("nvidia.com/gpu.product", "")})  # fmt: skip
    return sorted(rows, key=lambda r: r["name"])


def pending_pods(api: Any, namespace: str | None = None) -> list[dict[str, str]]:
    """Pods that are not scheduled, with the scheduler's reason (e.g. "Insufficient nvidia.com/gpu")."""
    path = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
    pods = api.get(path, params={"fieldSelector": "status.phase=Pending"}).json().get("items", [])
    rows = []
    for pod in pods:
        conditions = pod.get("status", {}).get("conditions") or []
        unscheduled = (c for c in conditions if c.get("type") == "PodScheduled" and c.get("status") == "False")
        condition: dict[str, Any] = next(unscheduled, {})
        rows.append({"namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"],
                     "reason": condition.get("message") or condition.get("reason") or "not scheduled yet"})  # fmt: skip
    return rows
