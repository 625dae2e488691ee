"""Node pools: GPU nodes carry the GPU taint (only GPU workloads land there), and stay within the size limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.rules.model import Finding, Rule, dig
from helixflow.stacks.policy.settings import PolicySettings

EKS_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_POOL = "gcp:container/nodePool:NodePool"
GPU_TAINT = "nvidia.com/gpu"
GKE_GPU_MACHINES = ("a2-", "a3-", "a4-", "g2-")
ZONES_PER_REGION = 3


def is_gpu_pool(resource: PlannedResource) -> bool:
    props = resource.properties
    if resource.type == EKS_GROUP:
        types = [str(t) for t in props.get("instanceTypes") or []]
        return "NVIDIA" in str(props.get("amiType", "")) or any(t[:1] in ("g", "p") and t[1:2].isdigit() for t in types)
    if resource.type == GKE_POOL:
        config = props.get("nodeConfig") or {}
        return bool(config.get("guestAccelerators")) or str(config.get("machineType", "")).startswith(GKE_GPU_MACHINES)
    return False


def _taints(resource: PlannedResource) -> list[dict[str, Any]]:
    found = resource.properties.get("taints") if resource.type == EKS_GROUP else dig(resource.properties,
                                                                                     "nodeConfig", "taints")
    return [taint for taint in found or [] if isinstance(taint, dict)]


def check_gpu_taint(resource: PlannedResource, settings: PolicySettings) -> Iterator[Finding]:
    if not is_gpu_pool(resource):
        return
    # written out even on GKE (which adds it to accelerator pools itself), so every cloud's plan shows it
    if not any(t.get("key") == GPU_TAINT and t.get("effect") == "NO_SCHEDULE" for t in _taints(resource)):
        yield Finding("a GPU node pool without the GPU taint: any pod may take its GPU nodes",
                      f"add the taint {GPU_TAINT}=true:NO_SCHEDULE (the SGLang workers tolerate it)")  # fmt: skip


def _size_range(resource: PlannedResource) -> tuple[float, float] | None:
    props = resource.properties
    if resource.type == EKS_GROUP:
        scaling = props.get("scalingConfig") or {}
        return float(scaling.get("minSize") or 0), float(scaling.get("maxSize") or 0)
    scaling = props.get("autoscaling") or {}
    if "totalMaxNodeCount" in scaling:
        return float(scaling.get("totalMinNodeCount") or 0), float(scaling["totalMaxNodeCount"])
    location = str(props.get("location", ""))
    zones = len(props.get("nodeLocations") or []) or (1 if re.search(r"-[a-z]$", location) else ZONES_PER_REGION)
    if scaling:
        return float(scaling.get("minNodeCount") or 0) * zones, float(scaling.get("maxNodeCount") or 0) * zones
    count = float(props.get("nodeCount") or props.get("initialNodeCount") or 1) * zones
    return count, count


def check_pool_size(resource: PlannedResource, settings: PolicySettings) -> Iterator[Finding]:
    if resource.type not in (EKS_GROUP, GKE_POOL):
        return
    size = _size_range(resource)
    assert size is not None
    low, high = size
    gpu = is_gpu_pool(resource)
    limit = settings.max_gpu_nodes_per_pool if gpu else settings.max_nodes_per_pool
    setting = "max_gpu_nodes_per_pool" if gpu else "max_nodes_per_pool"
    if low > high:
        yield Finding(f"the pool's minimum ({low:g}) is above its maximum ({high:g})", "swap them")
    if high > limit:
        yield Finding(f"the pool may grow to {high:g} nodes, over policy.{setting} = {limit}",
                      f"lower the pool's maximum to {limit}, or raise policy.{setting}")  # fmt: skip


GPU_NODES_TAINTED = Rule("gpu-nodes-tainted", "GPU node pools carry the nvidia.com/gpu NoSchedule taint.",
                         resource_check=check_gpu_taint)  # fmt: skip
NODE_POOL_SIZE_LIMITS = Rule("node-pool-size-limits", "Node pools stay within policy.max_nodes_per_pool "
                             "(max_gpu_nodes_per_pool for GPU pools).", resource_check=check_pool_size)
