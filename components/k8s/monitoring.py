"""Monitoring on a cluster, for the Prometheus operator (kube-prometheus-stack): ServiceMonitors for the
gateway, auth, monitoring service, router and workers; a PrometheusRule from the alert rules every target
shares (components/alert_rules.py); Grafana dashboards as ConfigMaps its sidecar loads; and an
AlertmanagerConfig with a Slack receiver whose webhook URL stays in a Secret."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components import alert_rules
from helixflow.components.k8s import pods
from helixflow.components.k8s.dashboards import DASHBOARDS
from helixflow.components.k8s.pool import WORKER_PORT

TYPE = "helixflow:k8s:Monitoring"
MONITORING = "monitoring.coreos.com/v1"
WORKER_METRICS_SERVICE = "sglang-worker-metrics"
# app -> the port name its metrics are on (the runtime services serve /metrics on their http port)
SCRAPED = {"gateway": "http", "auth": "http", "monitoring": "http", "sglang-router": "metrics",
           WORKER_METRICS_SERVICE: "http"}  # fmt: skip


@dataclass(frozen=True)
class SlackReceiver:
    secret: str  # a Secret in the runtime namespace
    key: str = "webhook-url"
    channel: str = "#helixflow-alerts"


@dataclass(frozen=True)
class MonitoringArgs:
    namespace: str
    slack: SlackReceiver | None = None
    scrape_interval: str = "15s"
    wait_for: tuple[pulumi.Resource, ...] = ()  # the Prometheus operator's release, when HelixFlow installs it


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for))
        ns = args.namespace
        # The workers have no Service of their own (the router finds them through the API): a headless one
        # gives Prometheus their endpoints.
        k8s.core.v1.Service(f"{name}-worker-metrics", metadata=_meta(WORKER_METRICS_SERVICE, ns),
                            spec=k8s.core.v1.ServiceSpecArgs(
            cluster_ip="None", selector={pods.APP_LABEL: "sglang-worker"},
            ports=[k8s.core.v1.ServicePortArgs(name="http", port=WORKER_PORT, target_port="http")],
        ), opts=child)  # fmt: skip
        for app, port in SCRAPED.items():
            selected = "sglang-worker" if app == WORKER_METRICS_SERVICE else app
            _custom(f"{name}-sm-{app}", "ServiceMonitor", ns, app, {
                "selector": {"matchLabels": {pods.APP_LABEL: selected}},
                "namespaceSelector": {"matchNames": [ns]},
                "endpoints": [{"port": port, "path": "/metrics", "interval": args.scrape_interval}],
            }, child)  # fmt: skip
        _custom(f"{name}-rules", "PrometheusRule", ns, "helixflow", alert_rules.rules_document(), child)
        for key, build in DASHBOARDS.items():
            dashboard = build()
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{key}", metadata=_meta(f"helixflow-dashboard-{key}", ns, grafana_dashboard="1"),
                data={f"helixflow-{key}.json": json.dumps(dashboard, indent=1, sort_keys=True)}, opts=child,
            )  # fmt: skip
        if args.slack:
            _custom(f"{name}-alertmanager", "AlertmanagerConfig", ns, "helixflow", _slack_route(args.slack), child,
                    api_version="monitoring.coreos.com/v1alpha1")  # fmt: skip
        self.register_outputs({})


def _slack_route(slack: SlackReceiver) -> dict[str, Any]:
    return {
        "route": {"receiver": "slack", "groupBy": ["alertname", "severity"], "groupWait": "30s",
                  "groupInterval": "5m", "repeatInterval": "4h"},
        "receivers": [{"name": "slack", "slackConfigs": [{
            "apiURL": {"name": slack.secret, "key": slack.key}, "channel": slack.channel, "sendResolved": True,
            "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
            "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
        }]}],
    }  # fmt: skip


def _meta(name: str, namespace: str, **labels: str) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels={**pods.PART_OF, **labels})


def _custom(resource: str, kind: str, namespace: str, name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions,
            api_version: str = MONITORING) -> k8s.apiextensions.CustomResource:  # fmt: skip
    return k8s.apiextensions.CustomResource(resource, api_version=api_version, kind=kind,
                                            metadata=_meta(name, namespace), spec=spec, opts=opts)  # fmt: skip

