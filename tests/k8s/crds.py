"""The few custom resource definitions HelixFlow's own objects need, registered on the simulated cluster as
the add-ons would (cert-manager, the Prometheus operator): the kinds and scopes only, any spec accepted.
The add-ons' charts cannot be installed offline; the API server still stores and serves the resources."""

from __future__ import annotations

from typing import Any

# name -> (group, version, kind, plural, scope)
CRDS = {
    "clusterissuers.cert-manager.io": ("cert-manager.io", "v1", "ClusterIssuer", "clusterissuers", "Cluster"),
    "issuers.cert-manager.io": ("cert-manager.io", "v1", "Issuer", "issuers", "Namespaced"),
    "certificates.cert-manager.io": ("cert-manager.io", "v1", "Certificate", "certificates", "Namespaced"),
    "servicemonitors.monitoring.coreos.com": ("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors",
                                              "Namespaced"),
    "prometheusrules.monitoring.coreos.com": ("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules",
                                              "Namespaced"),
    "alertmanagerconfigs.monitoring.coreos.com": ("monitoring.coreos.com", "v1alpha1", "AlertmanagerConfig",
                                                  "alertmanagerconfigs", "Namespaced"),
}  # fmt: skip


def manifest(name: str) -> dict[str, Any]:
    group, version, kind, plural, scope = CRDS[name]
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
        "spec": {"group": group, "scope": scope, "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                 "versions": [{"name": version, "served": True, "storage": True, "schema": schema}]},
    }  # fmt: skip


def register(api_client: Any, names: list[str] | None = None) -> None:
    """Create the CRDs (those not there yet) and wait until the API server serves them."""
    import time

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = client.ApiextensionsV1Api(api_client)
    for name in names or list(CRDS):
        try:
            api.create_custom_resource_definition(manifest(name))
        except ApiException as err:
            if err.status != 409:
                raise
    deadline = time.monotonic() + 30
    for name in names or list(CRDS):
        while not any(c.type == "Established" and c.status == "True"
                      for c in (api.read_custom_resource_definition(name).status.conditions or [])):  # fmt: skip
            assert time.monotonic() < deadline, f"CRD {name} not established"
            time.sleep(0.2)


def remove(api_client: Any, name: str) -> None:
    import time

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = client.ApiextensionsV1Api(api_client)
    api.delete_custom_resource_definition(name)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            api.read_custom_resource_definition(name)
        except ApiException as err:
            if err.status == 404:
                return
            raise
        time.sleep(0.2)
    raise AssertionError(f"CRD {name} not deleted")
