"""Kubernetes workloads: pinned images, requests and limits, a non-root read-only security context."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.rules.model import Finding, Rule, dig
from helixflow.stacks.policy.settings import PolicySettings

# workload type -> where its pod spec is
POD_SPEC = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}


def containers(resource: PlannedResource) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(pod spec, container) for every container and init container of a workload."""
    path = POD_SPEC.get(resource.type)
    pod = dig(resource.properties, *path) if path else None
    if not isinstance(pod, dict):
        return
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        if isinstance(container, dict):
            yield pod, container


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when pinned by digest); 'latest' when it has none."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def check_images(resource: PlannedResource, settings: PolicySettings) -> Iterator[Finding]:
    for _, container in containers(resource):
        image = str(container.get("image", ""))
        if image_tag(image) == "latest":
            yield Finding(f"container {container.get('name')!r} runs {image!r}, which is `latest` (a moving tag)",
                          "pin the image to a version tag or a digest")  # fmt: skip


def check_resources(resource: PlannedResource, settings: PolicySettings) -> Iterator[Finding]:
    for _, container in containers(resource):
        name = container.get("name")
        requests = dig(container, "resources", "requests") or {}
        limits = dig(container, "resources", "limits") or {}
        lacking = [f"requests.{key}" for key in ("cpu", "memory") if key not in requests]
        # a CPU limit only throttles; a memory limit protects the node's other pods
        lacking += [] if "memory" in limits else ["limits.memory"]
        if lacking:
            yield Finding(f"container {name!r} has no {', '.join(lacking)}",
                          "set resources.requests (cpu, memory) and resources.limits (memory)")  # fmt: skip


def check_security_context(resource: PlannedResource, settings: PolicySettings) -> Iterator[Finding]:
    for pod, container in containers(resource):
        pod_context = pod.get("securityContext") or {}
        context = container.get("securityContext") or {}
        lacking = []
        if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
            lacking.append("runAsNonRoot: true")
        if context.get("readOnlyRootFilesystem") is not True:
            lacking.append("readOnlyRootFilesystem: true")
        if context.get("allowPrivilegeEscalation") is not False:
            lacking.append("allowPrivilegeEscalation: false")
        if context.get("privileged") is True:
            lacking.append("privileged: false")
        if lacking:
            yield Finding(f"container {container.get('name')!r} lacks {', '.join(lacking)}",
                          "set them in the container's securityContext (runAsNonRoot may be on the pod's); "
                          "mount an emptyDir where it must write")  # fmt: skip


NO_LATEST_IMAGES = Rule("no-latest-images", "Every container image is pinned (no `latest`, no missing tag).",
                        resource_check=check_images)  # fmt: skip
WORKLOAD_RESOURCES = Rule("workload-resources", "Every container has CPU and memory requests and a memory limit.",
                          resource_check=check_resources)  # fmt: skip
WORKLOAD_SECURITY_CONTEXT = Rule("workload-security-context", "Every container runs as non-root, with a read-only "
                                 "root filesystem and no privilege escalation.", resource_check=check_security_context)
