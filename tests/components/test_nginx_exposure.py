"""The local stack's public endpoint (a real nginx with the rendered configuration) serves the public API and
keeps the services' internals (/metrics, /docs, /openapi.json) off it."""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from helixflow.components.local.nginx import NginxProps, render_nginx_conf
from helixflow.components.local.tls import issue_certificates
from tests.support.processes import free_port, wait_for_port


@contextmanager
def _service(name: str) -> Iterator[int]:
    """An upstream that answers every path with ``<name> <path>``."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = f"{name} {self.path}".encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_the_public_endpoint_serves_the_api_and_hides_the_internals(tmp_path: Path) -> None:
    files = issue_certificates(tmp_path / "tls", ["localhost"], valid_days=10)
    with _service("gateway") as gateway_port, _service("auth") as auth_port:
        https_port = free_port()
        props = NginxProps.model_validate({
            "name": "nginx", "state_dir": str(tmp_path), "log_file": str(tmp_path / "nginx.log"),
            "prefix": str(tmp_path), "https_port": https_port, "http_port": free_port(),
            "upstream_ports": [gateway_port], "auth_port": auth_port, "cert_file": files["cert_file"],
            "key_file": files["key_file"], "__provider": "x",
        })  # fmt: skip
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp_path / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / "nginx.conf").write_text(render_nginx_conf(props))
        nginx = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g",
                                  "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(https_port, 15, nginx)
            with httpx.Client(base_url=f"https://localhost:{https_port}", verify=files["ca_file"]) as client:
                served = {path: client.get(path) for path in (
                    "/v1/models", "/health", "/health/live", "/health/ready", "/oauth/token",
                    "/.well-known/jwks.json", "/admin/me")}
                hidden = {path: client.get(path) for path in (
                    "/metrics", "/docs", "/openapi.json", "/redoc", "/healthz", "/admin/../metrics")}
        finally:
            nginx.terminate()
            nginx.wait(10)
    assert {path: r.text for path, r in served.items()} == {
        "/v1/models": "gateway /v1/models", "/health": "gateway /health", "/health/live": "gateway /health/live",
        "/health/ready": "gateway /health/ready", "/oauth/token": "auth /oauth/token",
        "/.well-known/jwks.json": "auth /.well-known/jwks.json", "/admin/me": "auth /admin/me"}
    for path, response in hidden.items():
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
