"""What a `kubernetes` stack's workloads are doing now, read from the cluster: replicas ready, and pods
the scheduler could not place with its reason ("6 of 8 pending: Insufficient nvidia.com/gpu")."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.targets.base import ComponentStatus, State


def _api(kubeconfig: str | Path, context: str | None) -> Any:
    from kubernetes import config

    try:
        return config.new_client_from_config(config_file=str(kubeconfig), context=context or None)  # type: ignore[no-untyped-call]
    except Exception as err:  # the client raises ConfigException, OSError, yaml errors
        hint = "check kubernetes.kubeconfig"
        raise HelixFlowError(f"cannot use the kubeconfig {kubeconfig}: {err}", hint=hint) from None


def _pending_reason(core: Any, namespace: str, selector: str) -> tuple[int, str]:
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    pending = [p for p in pods if p.status.phase == "Pending"]
    reasons = []
    for pod in pending:
        for condition in pod.status.conditions or []:
            if condition.type == "PodScheduled" and condition.status == "False":
                reasons.append(condition.message or condition.reason or "unschedulable")
    return len(pending), (max(set(reasons), key=reasons.count) if reasons else "")


def _workload(apps: Any, core: Any, kind: str, namespace: str, name: str) -> ComponentStatus:
    from kubernetes.client.exceptions import ApiException

    read = apps.read_namespaced_deployment if kind == "Deployment" else apps.read_namespaced_stateful_set
    try:
        obj = read(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return ComponentStatus(name, kind, "down", {"ready": "-", "detail": f"no {kind} {namespace}/{name}"})
        raise
    desired = obj.spec.replicas or 0
    ready = obj.status.ready_replicas or 0
    selector = ",".join(f"{k}={v}" for k, v in sorted((obj.spec.selector.match_labels or {}).items()))
    pending, reason = _pending_reason(core, namespace, selector)
    state: State = "healthy" if ready >= desired else "pending" if pending else "unhealthy"
    detail = f"{pending} of {desired} pending: {reason}" if pending else ""
    return ComponentStatus(name, kind, state, {"ready": f"{ready}/{desired}", "detail": detail,
                                              "namespace": namespace, "pending": pending})  # fmt: skip


def cluster_statuses(outputs: Mapping[str, Any]) -> list[ComponentStatus]:
    from kubernetes import client

    workloads = outputs.get("workloads") or []
    if not workloads:
        return []
    api = _api(str(outputs.get("kubeconfig", "")), str(outputs.get("context") or "") or None)
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    try:
        return [_workload(apps, core, w["kind"], w["namespace"], w["name"]) for w in workloads]
    except Exception as err:  # urllib3 connection errors, ApiException
        raise HelixFlowError(f"cannot read the cluster: {str(err).splitlines()[0][:300]}",
                             hint="is the cluster up? (`helixflow sim status` for a simulated one)") from None
    finally:
        api.close()


def delete_namespace(kubeconfig: Path, context: str | None, namespace: str) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = _api(kubeconfig, context)
    try:
        client.CoreV1Api(api).delete_namespace(namespace)
    except ApiException as err:
        if err.status != 404:
            hint = "delete it yourself"
            raise HelixFlowError(f"cannot delete namespace {namespace}: {err.reason}", hint=hint) from None
    finally:
        api.close()


def installed_crds(kubeconfig: Path, context: str | None) -> set[str]:
    """The names (`plural.group`) of the cluster's custom resource definitions."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = _api(kubeconfig, context)
    try:
        found = client.ApiextensionsV1Api(api).list_custom_resource_definition(_request_timeout=10)
        return {crd.metadata.name for crd in found.items if crd.metadata and crd.metadata.name}
    except (ApiException, HTTPError, OSError) as err:
        hint = "check that the cluster is up (`helixflow sim status` for the simulated one) and the kubeconfig"
        raise HelixFlowError(f"cannot list the cluster's custom resource definitions: {err}", hint=hint) from None
    finally:
        api.close()
