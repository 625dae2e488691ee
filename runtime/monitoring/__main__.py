"""``python -m helixflow.runtime.monitoring``: the exporter on HELIXFLOW_MONITORING_HOST:_PORT (8083)."""

from helixflow.runtime.common.serve import load_settings_or_exit, serve

if __name__ == "__main__":
    settings = load_settings_or_exit()
    serve("helixflow.runtime.monitoring.app:create_app", settings.monitoring_host, settings.monitoring_port)
