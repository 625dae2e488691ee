"""nginx terminating TLS (HTTP/2) in front of the gateway, with plain HTTP redirected to HTTPS."""

from __future__ import annotations

from pathlib import Path

import pulumi

from helixflow.components.local.service import LocalServiceProvider, ProcessProps, ProcessResource
from helixflow.components.processes import check_config, http_ok

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


class NginxProps(ProcessProps):
    https_port: int
    http_port: int
    upstream_ports: list[int]
    auth_port: int
    cert_file: str
    key_file: str
    prefix: str
    worker_processes: int = 1


# What the public endpoint answers for a path it does not serve, in the OpenAI error shape.
NOT_FOUND = '{"error": {"message": "not found", "type": "invalid_request_error", "param": null, "code": "not_found"}}'


def render_nginx_conf(props: NginxProps) -> str:
    prefix = Path(props.prefix)
    headers = "\n".join(f'        add_header {k} "{v}" always;' for k, v in SECURITY_HEADERS.items())
    upstreams = "\n".join(f"        server 127.0.0.1:{port};" for port in props.upstream_ports)
    return f"""# Written by HelixFlow; edits are overwritten on the next `helixflow up`.
worker_processes {props.worker_processes};
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {prefix / "tmp/body"};
    proxy_temp_path {prefix / "tmp/proxy"};
    fastcgi_temp_path {prefix / "tmp/fastcgi"};
    uwsgi_temp_path {prefix / "tmp/uwsgi"};
    scgi_temp_path {prefix / "tmp/scgi"};
    client_max_body_size 16m;

    upstream helixflow_gateway {{
{upstreams}
        keepalive 64;
    }}

    upstream helixflow_auth {{
        server 127.0.0.1:{props.auth_port};
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{props.http_port};
        server_name _;
        location = /nginx-health {{ return 200 "ok\\n"; }}
        location / {{ return 301 https://$host:{props.https_port}$request_uri; }}
    }}

    server {{
        listen 127.0.0.1:{props.https_port} ssl http2;
        server_name _;
        ssl_certificate {props.cert_file};
        ssl_certificate_key {props.key_file};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers on;
        ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20;
        ssl_session_cache shared:helixflow_tls:10m;
{headers}

        location = /nginx-health {{ return 200 "ok\\n"; }}
        # the auth service: tokens, public keys, the admin API
        location ~ ^/(oauth/|admin/|\\.well-known/) {{
            proxy_pass http://helixflow_auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }}
        # The public API only: /metrics, /docs and /openapi.json of the services stay internal (Prometheus
        # scrapes each service on its own port); anything else is a 404 here.
        location / {{
            default_type application/json;
            return 404 '{NOT_FOUND}';
        }}
        location ~ ^/(v1/|health(/live|/ready)?$) {{
            proxy_pass http://helixflow_gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            # Server-sent events must reach the client token by token.
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


class NginxProvider(LocalServiceProvider[NginxProps]):
    what = "nginx"
    props_model = NginxProps

    def _conf(self, props: NginxProps) -> Path:
        return Path(props.prefix) / "nginx.conf"

    def argv(self, props: NginxProps) -> list[str]:
        return ["nginx", "-p", props.prefix, "-c", str(self._conf(props)), "-g", "daemon off;"]


    def prepare(self, props: NginxProps) -> None:
        prefix = Path(props.prefix)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        self._conf(props).write_text(render_nginx_conf(props))
        check_config(["nginx", "-t", "-q", "-p", str(prefix), "-c", str(self._conf(props))], "nginx")

    def healthy(self, props: NginxProps) -> bool:
        return http_ok(f"http://127.0.0.1:{props.http_port}/nginx-health")


class Nginx(ProcessResource):
    """An nginx process: HTTPS with HTTP/2 on `https_port`, redirects on `http_port`."""

    def __init__(
        self,
        name: str,
        *,
        https_port: int,
        http_port: int,
        upstream_ports: list[int],
        auth_port: int,
        cert_file: pulumi.Input[str],
        key_file: pulumi.Input[str],
        ca_not_after: pulumi.Input[str],
        prefix: str,
        state_dir: str,
        log_file: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = ProcessResource.props(
            name,
            state_dir=state_dir,
            log_file=log_file,
            start_timeout=30,
            https_port=https_port,
            http_port=http_port,
            upstream_ports=upstream_ports,
            auth_port=auth_port,
            cert_file=cert_file,
            key_file=key_file,
            # a new certificate changes this input, so nginx restarts and serves it
            cert_not_after=ca_not_after,
            prefix=prefix,
        )
        super().__init__(NginxProvider(), name, props, opts)
