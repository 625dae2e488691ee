"""A plan as a reviewer reads it: the component tree, each resource with its type and the settings that
matter in a review (sizes, counts, regions, encryption, exposure, deletion protection); and as data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from helixflow.stacks.plan.model import PlannedResource

# Input names (camelCase, as providers see them) worth showing wherever they appear in a resource.
REVIEWED = (
    "region", "cidrBlock", "availabilityZone", "mapPublicIpOnLaunch", "version", "instanceTypes", "instanceType",
    "instanceClass", "nodeType", "amiType", "capacityType", "scalingConfig", "taints", "labels", "volumeSize",
    "encrypted", "httpTokens", "engine", "engineVersion", "allocatedStorage", "maxAllocatedStorage", "multiAz",
    "numCacheClusters", "storageEncrypted", "atRestEncryptionEnabled", "transitEncryptionEnabled",
    "transitEncryptionMode", "automaticFailoverEnabled", "multiAzEnabled", "publiclyAccessible",
    "deletionProtection", "skipFinalSnapshot", "finalSnapshotIdentifier", "backupRetentionPeriod",
    "snapshotRetentionLimit", "manageMasterUserPassword", "performanceInsightsEnabled", "endpointPublicAccess",
    "publicAccessCidrs", "authenticationMode", "resources", "enabledClusterLogTypes", "sseAlgorithm", "status",
    "blockPublicAcls", "blockPublicPolicy", "restrictPublicBuckets", "trafficType", "retentionInDays",
    "replicas", "image", "type", "serviceAccount", "namespace", "parameters", "expiration", "policyArn",
)  # fmt: skip
_REVIEWED = frozenset(REVIEWED)
MAX_DEPTH = 6


def _found(value: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            if key == "metadata" and isinstance(item, dict):  # a manifest's labels are not its settings
                if "namespace" in item:
                    yield "namespace", item["namespace"]
            elif key in _REVIEWED and not (key == "type" and depth == 0 and isinstance(item, dict)):
                yield key, item
            elif isinstance(item, dict | list):
                yield from _found(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _found(item, depth + 1)


def highlights(resource: PlannedResource) -> dict[str, Any]:
    """The reviewed settings of a resource (the first value of each name found), plus `protect`."""
    shown: dict[str, Any] = {}
    for key, value in _found(resource.properties):
        shown.setdefault(key, value)
    if resource.protect and not resource.component:
        shown["protect"] = True
    return shown


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def tree_lines(resources: list[PlannedResource]) -> list[str]:
    """The plan as indented lines: each component, then its resources (and nested components)."""
    children: dict[str | None, list[PlannedResource]] = defaultdict(list)
    for resource in resources:
        children[resource.parent].append(resource)
    names = {r.name for r in resources if r.component}
    roots = [r for r in resources if r.parent is None or r.parent not in names]
    lines: list[str] = []

    def walk(resource: PlannedResource, depth: int) -> None:
        pad = "  " * depth
        if resource.component:
            lines.append(f"{pad}{resource.name}  ({resource.type})")
        else:
            details = ", ".join(f"{k}={_compact(v)}" for k, v in highlights(resource).items())
            lines.append(f"{pad}- {resource.type}  {resource.name}" + (f"  [{details}]" if details else ""))
        if not resource.component:  # a resource may share its component's name: only components have children
            return
        ordered = sorted(children.get(resource.name, []), key=lambda r: (r.component, r.type, r.name))
        for child in ordered:
            walk(child, depth + 1)

    for root in sorted(roots, key=lambda r: (r.component, r.type, r.name)):
        walk(root, 0)
    return lines


def _keys_sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _keys_sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_keys_sorted(item) for item in value]
    return value


def plan_json(resources: list[PlannedResource]) -> list[dict[str, Any]]:
    """The records as data, sorted (parent, type, name) and by key: two plans of one configuration print the same."""
    ordered = sorted(resources, key=lambda r: (r.parent or "", r.type, r.name))
    return [{"type": r.type, "name": r.name, "parent": r.parent, "component": r.component, "protect": r.protect,
             "properties": _keys_sorted(r.properties)} for r in ordered]  # fmt: skip
