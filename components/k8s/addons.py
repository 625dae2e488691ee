"""Cluster add-ons HelixFlow relies on, as pinned Helm releases: ingress-nginx, cert-manager,
kube-prometheus-stack, the NVIDIA device plugin and the DCGM exporter.

Each is installed here, or marked present (the cluster has it already: the target's preflight checks the
custom resource definitions HelixFlow's own objects need), or none (the optional GPU ones, e.g. on GKE,
where the platform installs the driver and the device plugin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

TYPE = "helixflow:k8s:ClusterAddons"
Mode = Literal["install", "present", "none"]


@dataclass(frozen=True)
class Chart:
    chart: str
    version: str
    repository: str
    namespace: str


# Pinned charts. Bump deliberately: a chart's values change between major versions.
CHARTS = {
    "ingress_nginx": Chart("ingress-nginx", "4.12.1", "https://kubernetes.github.io/ingress-nginx", "ingress-nginx"),
    "cert_manager": Chart("cert-manager", "v1.17.2", "https://charts.jetstack.io", "cert-manager"),
    "kube_prometheus_stack": Chart("kube-prometheus-stack", "79.7.1",
                                   "https://prometheus-community.github.io/helm-charts", "monitoring"),
    "nvidia_device_plugin": Chart("nvidia-device-plugin", "0.17.1", "https://nvidia.github.io/k8s-device-plugin",
                                  "nvidia-device-plugin"),
    "dcgm_exporter": Chart("dcgm-exporter", "4.1.1", "https://nvidia.github.io/dcgm-exporter/helm-charts",
                           "nvidia-dcgm"),
}  # fmt: skip

# The custom resource definitions HelixFlow's own objects need, and the add-on that brings them.
REQUIRED_CRDS = {
    "clusterissuers.cert-manager.io": "cert_manager",
    "issuers.cert-manager.io": "cert_manager",
    "certificates.cert-manager.io": "cert_manager",
    "servicemonitors.monitoring.coreos.com": "kube_prometheus_stack",
    "prometheusrules.monitoring.coreos.com": "kube_prometheus_stack",
    "alertmanagerconfigs.monitoring.coreos.com": "kube_prometheus_stack",
}


@dataclass(frozen=True)
class AddonsArgs:
    ingress_nginx: Mode = "present"
    cert_manager: Mode = "present"
    kube_prometheus_stack: Mode = "present"
    nvidia_device_plugin: Mode = "present"
    dcgm_exporter: Mode = "present"
    load_balancer_annotations: dict[str, str] = field(default_factory=dict)
    gpu_toleration_key: str = "nvidia.com/gpu"

    def __post_init__(self) -> None:
        for name in ("ingress_nginx", "cert_manager", "kube_prometheus_stack"):
            if getattr(self, name) == "none":
                raise ValueError(f"{name} cannot be none: HelixFlow's ingress, certificates or monitoring need it")

    def installed(self) -> list[str]:
        return [name for name in CHARTS if getattr(self, name) == "install"]


def chart_values(name: str, args: AddonsArgs) -> dict[str, Any]:
    """Each chart's values: only what HelixFlow depends on, the chart's defaults otherwise."""
    gpu_toleration = [{"key": args.gpu_toleration_key, "operator": "Exists", "effect": "NoSchedule"}]
    monitored = args.kube_prometheus_stack != "none"
    if name == "ingress_nginx":
        return {"controller": {
            "service": {"type": "LoadBalancer", "annotations": dict(args.load_balancer_annotations)},
            "config": {"use-http2": "true", "ssl-redirect": "true", "force-ssl-redirect": "true"},
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": monitored}},
        }}  # fmt: skip
    if name == "cert_manager":
        return {"crds": {"enabled": True}, "prometheus": {"servicemonitor": {"enabled": monitored}}}
    if name == "kube_prometheus_stack":
        # Select every ServiceMonitor/PrometheusRule, not only the chart's own (HelixFlow's live elsewhere).
        return {
            "prometheus": {"prometheusSpec": {
                "serviceMonitorSelectorNilUsesHelmValues": False, "ruleSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
            }},
            "alertmanager": {"alertmanagerSpec": {"alertmanagerConfigMatcherStrategy": {"type": "None"}}},
            "grafana": {"sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard",
                                                   "searchNamespace": "ALL"}}},
        }  # fmt: skip
    if name == "nvidia_device_plugin":
        return {"tolerations": gpu_toleration}
    if name == "dcgm_exporter":
        return {"tolerations": gpu_toleration, "serviceMonitor": {"enabled": monitored}}
    raise KeyError(name)


class ClusterAddons(pulumi.ComponentResource):
    """The Helm releases of the add-ons marked install; `releases` lets HelixFlow's custom resources wait."""

    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: AddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        self.releases = {}
        for addon in args.installed():
            chart = CHARTS[addon]
            # The device plugin and DCGM only matter once the GPU nodes' driver is there; cert-manager's
            # webhook must answer before any Certificate is created, so nothing skips its readiness.
            self.releases[addon] = k8s.helm.v3.Release(
                f"{name}-{chart.chart}", name=chart.chart, chart=chart.chart, version=chart.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
                namespace=chart.namespace, create_namespace=True, values=chart_values(addon, args),
                atomic=True, timeout=900, opts=pulumi.ResourceOptions(parent=self),
            )  # fmt: skip
        self.register_outputs({"installed": sorted(self.releases)})

    def dependencies(self, *addons: str) -> list[pulumi.Resource]:
        return [self.releases[a] for a in addons if a in self.releases]
