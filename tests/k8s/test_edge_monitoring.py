"""Offline, under Pulumi's mocks: the edge (Ingress, cert-manager issuers and certificate), the monitoring
objects (ServiceMonitors, the PrometheusRule, dashboards, Alertmanager) and the add-ons' Helm releases."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from helixflow.components import alert_rules
from helixflow.components.k8s.addons import CHARTS, AddonsArgs
from helixflow.components.k8s.dashboards import DASHBOARDS, DCGM_METRICS, queries
from helixflow.components.k8s.edge import EdgeArgs
from helixflow.stacks.config import parse_config
from helixflow.stacks.errors import HelixFlowError
from tests.k8s.test_manifests import render

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
# Required fields of the custom resources HelixFlow creates (their CRDs' schemas are not bundled offline).
REQUIRED = {
    "ClusterIssuer": [("spec",)], "Issuer": [("spec", "ca", "secretName")],
    "Certificate": [("spec", "secretName"), ("spec", "issuerRef")],
    "ServiceMonitor": [("spec", "selector"), ("spec", "endpoints")], "PrometheusRule": [("spec", "groups")],
    "AlertmanagerConfig": [("spec", "route"), ("spec", "receivers")],
}  # fmt: skip


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_the_ingress_routes_only_the_public_paths_with_tls() -> None:
    ingress = by_kind(render({}).objects, "Ingress")["helixflow"]
    paths = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {"/v1": "gateway", "/health": "gateway", "/oauth": "auth", "/.well-known": "auth",
                     "/admin": "auth"}  # fmt: skip
    assert not any(p.startswith(("/metrics", "/docs", "/openapi")) for p in paths)
    assert ingress["spec"]["tls"][0]["secretName"] == "helixflow-endpoint-tls"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"


def test_without_a_domain_a_self_signed_ca_signs_the_endpoint() -> None:
    custom = render({}).custom
    assert set(by_kind(custom, "ClusterIssuer")) == {"helixflow-selfsigned"}
    issuer = by_kind(custom, "Issuer")["helixflow-ca"]
    assert issuer["spec"]["ca"]["secretName"] == "helixflow-ca" and issuer["metadata"]["namespace"] == "helixflow"
    ca = by_kind(custom, "Certificate")["helixflow-ca"]
    assert ca["spec"]["isCA"] is True and ca["metadata"]["namespace"] == "helixflow"
    endpoint = by_kind(custom, "Certificate")["helixflow-endpoint"]["spec"]
    assert endpoint["issuerRef"] == {"name": "helixflow-ca", "kind": "Issuer", "group": "cert-manager.io"}
    assert endpoint["secretName"] == "helixflow-endpoint-tls"


def test_with_a_domain_acme_issuers_sign_it_through_the_ingress() -> None:
    recorder = render({}, domain="api.example.com", acme_email="ops@example.com")
    issuers = by_kind(recorder.custom, "ClusterIssuer")
    assert set(issuers) == {"letsencrypt-production", "letsencrypt-staging"}
    acme = issuers["letsencrypt-production"]["spec"]["acme"]
    assert acme["email"] == "ops@example.com" and "acme-v02.api.letsencrypt.org" in acme["server"]
    assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]
    certificate = by_kind(recorder.custom, "Certificate")["helixflow-endpoint"]["spec"]
    assert certificate["dnsNames"] == ["api.example.com"]
    assert certificate["issuerRef"]["name"] == "letsencrypt-production"
    assert by_kind(recorder.objects, "Ingress")["helixflow"]["spec"]["rules"][0]["host"] == "api.example.com"


def test_a_domain_without_an_acme_email_is_refused() -> None:
    with pytest.raises(HelixFlowError, match="acme_email"):
        parse_config({"target": "kubernetes", "domain": "api.example.com"})
    with pytest.raises(ValueError, match="ACME email"):
        EdgeArgs(namespace="helixflow", domain="api.example.com")


def test_every_custom_resource_has_its_required_fields() -> None:
    custom = render({"alerting": {"slack_secret": "slack"}}).custom
    assert {o["kind"] for o in custom} == set(REQUIRED)
    for obj in custom:
        for path in REQUIRED[obj["kind"]]:
            value: Any = obj
            for key in path:
                assert isinstance(value, dict) and key in value, f"{obj['kind']} {obj['metadata']['name']}: {path}"
                value = value[key]
            assert value, f"{obj['kind']} {obj['metadata']['name']}: {path} is empty"


def test_every_runtime_service_the_router_and_the_workers_are_scraped() -> None:
    monitors = by_kind(render({}).custom, "ServiceMonitor")
    selected = {m["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for m in monitors.values()}
    assert selected == {"gateway", "auth", "monitoring", "sglang-router", "sglang-worker"}
    services = by_kind(render({}).objects, "Service")
    assert services["sglang-worker-metrics"]["spec"]["clusterIP"] == "None"


def test_the_prometheus_rule_is_the_shared_rule_source() -> None:
    rule = by_kind(render({}).custom, "PrometheusRule")["helixflow"]
    assert rule["spec"] == alert_rules.rules_document()
    names = set(alert_rules.ALERT_NAMES)
    assert {"HighErrorRate", "HighLatency", "InferenceWorkerDown", "InferenceQueueGrowing", "GpuMemoryHigh",
            "TimeToFirstTokenHigh"} <= names  # fmt: skip


def test_slack_gets_its_webhook_from_a_secret_never_from_the_configuration() -> None:
    assert not by_kind(render({}).custom, "AlertmanagerConfig")  # no receiver configured: none made
    config = by_kind(render({"alerting": {"slack_secret": "slack-webhook"}}).custom, "AlertmanagerConfig")
    slack = config["helixflow"]["spec"]["receivers"][0]["slackConfigs"][0]
    assert slack["apiURL"] == {"name": "slack-webhook", "key": "webhook-url"}


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: ./scripts/setup.sh installs it (Debian's prometheus package)"
    return found


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(alert_rules.rules_document()))
    checked = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_refuses_a_broken_rule(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "sum(rate(x[5m])"}]}]}))
    checked = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode != 0


# --- the dashboards query only metrics HelixFlow exports -----------------------------------------------
DEFINITION = re.compile(
    r"""(?:Counter|Gauge|Histogram|MetricFamily|counter|gauge|histogram)\(\s*["']([a-zA-Z_:][\w:]*)["']""")
GAUGE_TABLE = re.compile(r"""\(\s*"(helixflow_[a-z_]+)",\s*"[A-Z]""")  # ("name", "Doc", value) rows
PROMQL_WORDS = {"sum", "rate", "increase", "avg", "by", "histogram_quantile", "clamp_min", "le", "deriv", "and",
                "max", "min", "count", "without"}  # fmt: skip


def exported_metrics() -> set[str]:
    """Every series name the runtime can expose: each metric it defines, with the suffixes Prometheus adds."""
    names: set[str] = set()
    for path in (REPO / "runtime").rglob("*.py"):
        text = path.read_text()
        for name in DEFINITION.findall(text) + GAUGE_TABLE.findall(text):
            base = name.removesuffix("_total")
            names |= {base, f"{base}_total", f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    return names | set(DCGM_METRICS)


def unknown_metrics(expr: str, known: set[str]) -> set[str]:
    without_numbers = re.sub(r"\b\d+(?:\.\d+)?(?:e[-+]?\d+)?\b", "", expr)
    without_labels = re.sub(r"\{[^}]*\}", "", re.sub(r"\[[^\]]*\]", "", without_numbers))
    without_groupings = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", without_labels)
    candidates = {m for m in re.findall(r"[a-zA-Z_:][\w:]*", without_groupings) if not m.isdigit()}
    return candidates - PROMQL_WORDS - known


def test_every_dashboard_queries_only_metrics_helixflow_exports() -> None:
    known = exported_metrics()
    assert {"api_requests_total", "sglang:num_queue_reqs", "helixflow_tenant_cost_total"} <= known
    for key, build in DASHBOARDS.items():
        for expr in queries(build()):
            assert not unknown_metrics(expr, known), f"dashboard {key}: {expr}"


def test_an_unknown_metric_in_a_query_is_caught() -> None:
    assert unknown_metrics("sum(rate(api_requests_totl[5m]))", exported_metrics()) == {"api_requests_totl"}


def test_the_seed_dashboard_is_shipped_as_a_configmap_grafana_loads() -> None:
    maps = by_kind(render({}).objects, "ConfigMap")
    overview = maps["helixflow-dashboard-performance"]
    assert overview["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "HelixFlow Performance Overview" in overview["data"]["helixflow-performance.json"]


# --- add-ons ---------------------------------------------------------------------------------------------
def test_addons_marked_install_become_pinned_helm_releases() -> None:
    everything = {name: "install" for name in CHARTS}
    releases = {r["chart"]: r for r in render({"addons": everything}).releases}
    assert set(releases) == {c.chart for c in CHARTS.values()}
    for chart in CHARTS.values():
        assert releases[chart.chart]["version"] == chart.version and releases[chart.chart]["repositoryOpts"]["repo"]
    assert releases["cert-manager"]["values"]["crds"]["enabled"] is True
    controller = releases["ingress-nginx"]["values"]["controller"]
    assert controller["service"]["type"] == "LoadBalancer" and controller["config"]["use-http2"] == "true"


def test_addons_marked_present_are_not_installed() -> None:
    assert render({}).releases == []


def test_the_required_addons_cannot_be_none() -> None:
    with pytest.raises(ValueError, match="cert_manager cannot be none"):
        AddonsArgs(cert_manager="none")
    with pytest.raises(HelixFlowError, match="cert_manager"):
        parse_config({"target": "kubernetes", "kubernetes": {"addons": {"cert_manager": "none"}}})
