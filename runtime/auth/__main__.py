"""``python -m helixflow.runtime.auth``: the auth service on HELIXFLOW_AUTH_HOST:HELIXFLOW_AUTH_PORT (8081)."""

from helixflow.runtime.common.serve import load_settings_or_exit, serve

if __name__ == "__main__":
    settings = load_settings_or_exit()
    serve("helixflow.runtime.auth.app:create_app", settings.auth_host, settings.auth_port)
