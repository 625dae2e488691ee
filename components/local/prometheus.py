"""Prometheus for the local target: scrapes every component and loads HelixFlow's alert rules.

The configuration and rules are checked with promtool before the server starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import yaml

from helixflow.components.alert_rules import rules_document
from helixflow.components.local.service import LocalServiceProvider, ProcessProps, ProcessResource
from helixflow.components.processes import check_config, http_ok


class PrometheusProps(ProcessProps):
    port: int
    targets: dict[str, list[int]]  # job -> the local ports it scrapes
    data_dir: str
    scrape_interval: str = "5s"


def render_prometheus_config(props: PrometheusProps, rules_file: Path) -> dict[str, Any]:
    jobs = [
        {
            "job_name": job,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"127.0.0.1:{port}" for port in ports]}],
        }
        for job, ports in sorted(props.targets.items())
        if ports
    ]
    jobs.append({"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{props.port}"]}]})
    return {
        "global": {"scrape_interval": props.scrape_interval, "evaluation_interval": "15s"},
        "rule_files": [str(rules_file)],
        "scrape_configs": jobs,
    }


class PrometheusProvider(LocalServiceProvider[PrometheusProps]):
    what = "Prometheus"
    props_model = PrometheusProps

    def _paths(self, props: PrometheusProps) -> tuple[Path, Path]:
        base = Path(props.data_dir)
        return base / "prometheus.yml", base / "helixflow-rules.yml"

    def argv(self, props: PrometheusProps) -> list[str]:
        config, _ = self._paths(props)
        return [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={Path(props.data_dir) / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{props.port}",
            "--storage.tsdb.retention.time=7d",
            "--web.enable-lifecycle",
        ]


    def prepare(self, props: PrometheusProps) -> None:
        config, rules = self._paths(props)
        config.parent.mkdir(parents=True, exist_ok=True)
        rules.write_text(yaml.safe_dump(rules_document(), sort_keys=False))
        config.write_text(yaml.safe_dump(render_prometheus_config(props, rules), sort_keys=False))
        check_config(["promtool", "check", "config", str(config)], "promtool")

    def healthy(self, props: PrometheusProps) -> bool:
        return http_ok(f"http://127.0.0.1:{props.port}/-/ready")


class Prometheus(ProcessResource):
    """A Prometheus server; `targets` maps a job name to the local ports it scrapes."""

    def __init__(
        self,
        name: str,
        *,
        port: int,
        targets: dict[str, list[int]],
        data_dir: str,
        state_dir: str,
        log_file: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = ProcessResource.props(
            name,
            state_dir=state_dir,
            log_file=log_file,
            start_timeout=60,
            port=port,
            targets=targets,
            data_dir=data_dir,
        )
        super().__init__(PrometheusProvider(), name, props, opts)
