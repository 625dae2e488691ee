"""``python -m helixflow.runtime.gateway``: the gateway on HELIXFLOW_GATEWAY_HOST:HELIXFLOW_GATEWAY_PORT (8080),
with HELIXFLOW_GATEWAY_WORKERS processes (metrics are aggregated across them)."""

from helixflow.runtime.common.serve import load_settings_or_exit, serve

if __name__ == "__main__":
    settings = load_settings_or_exit()
    serve("helixflow.runtime.gateway.app:create_app", settings.gateway_host, settings.gateway_port,
          workers=settings.gateway_workers)
