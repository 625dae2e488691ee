"""What the local components write before they start: certificates, nginx and Prometheus configuration,
checked with the real tools (openssl's verifier via `ssl`, `nginx -t`, `promtool`)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from helixflow.components.alert_rules import ALERT_NAMES, rules_document
from helixflow.components.local.nginx import SECURITY_HEADERS, NginxProps, render_nginx_conf
from helixflow.components.local.prometheus import PrometheusProps, render_prometheus_config
from helixflow.components.local.tls import certificate_not_after, issue_certificates


def test_certificates_chain_to_the_stack_ca_and_keys_are_private(tmp_path: Path) -> None:
    files = issue_certificates(tmp_path, ["localhost", "127.0.0.1"], valid_days=30)
    assert oct(os.stat(files["key_file"]).st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "ca.key").st_mode & 0o777) == "0o600"
    not_after = certificate_not_after(Path(files["cert_file"]))
    assert not_after is not None
    assert dt.timedelta(days=29) < not_after - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)

    # a real TLS handshake, verified against the CA, for both names in the certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(files["cert_file"], files["key_file"])
    client_ctx = ssl.create_default_context(cafile=files["ca_file"])
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def serve() -> None:
            for _ in range(2):
                conn, _ = listener.accept()
                try:
                    with server_ctx.wrap_socket(conn, server_side=True):
                        pass
                except ssl.SSLError:
                    pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        for host in ("localhost", "127.0.0.1"):
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                client_ctx.wrap_socket(raw, server_hostname=host) as tls,
            ):
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
        thread.join(timeout=5)

    # and a host it was not issued for is refused
    other = ssl.create_default_context(cafile=files["ca_file"])
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"), socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        thread = threading.Thread(target=lambda: _accept_once(listener, server_ctx), daemon=True)
        thread.start()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            other.wrap_socket(raw, server_hostname="example.com")


def _accept_once(listener: socket.socket, ctx: ssl.SSLContext) -> None:
    conn, _ = listener.accept()
    try:
        with ctx.wrap_socket(conn, server_side=True):
            pass
    except (ssl.SSLError, OSError):
        pass


def test_nginx_configuration_is_accepted_by_nginx(tmp_path: Path) -> None:
    files = issue_certificates(tmp_path / "tls", ["localhost"], valid_days=10)
    # what the engine hands the provider: every number a float
    props = NginxProps.model_validate({
        "name": "nginx", "state_dir": str(tmp_path), "log_file": str(tmp_path / "nginx.log"),
        "prefix": str(tmp_path), "https_port": 18443.0, "http_port": 18000.0, "upstream_ports": [18080.0],
        "auth_port": 18081.0, "cert_file": files["cert_file"], "key_file": files["key_file"], "__provider": "x",
    })  # fmt: skip
    conf = render_nginx_conf(props)
    assert "listen 127.0.0.1:18443 ssl http2;" in conf and "server 127.0.0.1:18080;" in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf and "TLSv1.1" not in conf
    assert "http2" in conf and "proxy_buffering off;" in conf
    assert "location ~ ^/(oauth/|admin/|\\.well-known/)" in conf
    for header in SECURITY_HEADERS:
        assert f"add_header {header}" in conf
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    (tmp_path / "nginx.conf").write_text(conf)
    check = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_prometheus_configuration_and_rules_pass_promtool(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(rules_document(), sort_keys=False))
    props = PrometheusProps(name="prometheus", state_dir=str(tmp_path), log_file=str(tmp_path / "p.log"),
                            port=19090, targets={"gateway": [18080], "workers": [30001, 30002], "unused": []},
                            data_dir=str(tmp_path))  # fmt: skip
    config = render_prometheus_config(props, rules)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"gateway", "workers", "prometheus"}
    assert jobs["workers"]["static_configs"][0]["targets"] == ["127.0.0.1:30001", "127.0.0.1:30002"]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    check = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert {"HighErrorRate", "HighLatency"} <= set(ALERT_NAMES)


def test_alert_rules_fire_as_intended(tmp_path: Path) -> None:
    """promtool's rule unit tests: HighErrorRate fires on 10% 5xx, stays quiet on 1%."""
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(rules_document(), sort_keys=False))
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'api_requests_total{status="200"}', "values": "0+90x20"},
                    {"series": 'api_requests_total{status="500"}', "values": "0+10x20"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "15m",
                        "alertname": "HighErrorRate",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "critical"},
                                "exp_annotations": {
                                    "summary": "More than 5% of API requests fail with 5xx",
                                    "description": "Gateway 5xx ratio is 10% over 5 minutes.",
                                },
                            }
                        ],
                    }
                ],
            },
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'api_requests_total{status="200"}', "values": "0+99x20"},
                    {"series": 'api_requests_total{status="500"}', "values": "0+1x20"},
                ],
                "alert_rule_test": [{"eval_time": "15m", "alertname": "HighErrorRate", "exp_alerts": []}],
            },
        ],
    }
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    check = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_rejected_configuration_is_a_clear_error(tmp_path: Path) -> None:
    from helixflow.components.processes import ProcessError, check_config

    broken = tmp_path / "prometheus.yml"
    broken.write_text("global:\n  scrape_interval: banana\n")
    with pytest.raises(ProcessError, match="promtool rejected its configuration"):
        check_config(["promtool", "check", "config", str(broken)], "promtool")
