"""What a `gcp` stack needs on this machine before the engine starts: Google credentials (Application
Default Credentials), the Pulumi GCP provider plugin (resource-gcp v9 or v10), and gke-gcloud-auth-plugin
(the cluster's kubeconfig runs it). Each check reads environment variables and files only: no network,
no gcloud call, so it answers in milliseconds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from helixflow.stacks.prereqs import Prerequisite

PLUGIN_MAJORS = (9, 10)
PLUGIN_VERSION = "10.2.0"  # the pulumi-gcp SDK this release pins
PLUGIN_BINARY = "pulumi-resource-gcp"
CREDENTIALS_HINT = ("run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
                    "service account key or workload identity federation file")  # fmt: skip
PLUGIN_HINT = f"PULUMI_HOME={{home}} pulumi plugin install resource gcp {PLUGIN_VERSION}"
AUTH_PLUGIN_HINT = ("gcloud components install gke-gcloud-auth-plugin (or apt-get install "
                    "google-cloud-cli-gke-gcloud-auth-plugin)")


def adc_file() -> Path:
    configured = os.environ.get("CLOUDSDK_CONFIG")
    base = Path(configured) if configured else Path.home() / ".config" / "gcloud"
    return base / "application_default_credentials.json"


def find_credentials() -> str | None:
    """Where the Google provider would take credentials from, or None (the metadata server is not probed)."""
    explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if explicit:
        return f"GOOGLE_APPLICATION_CREDENTIALS={explicit}" if Path(explicit).is_file() else None
    for variable in ("GOOGLE_CREDENTIALS", "GOOGLE_OAUTH_ACCESS_TOKEN"):
        if os.environ.get(variable):
            return variable
    return str(adc_file()) if adc_file().is_file() else None


def find_plugin(pulumi_home: Path) -> Path | None:
    """The newest resource-gcp v9/v10 plugin under PULUMI_HOME/plugins (the engine looks nowhere else offline)."""
    found = sorted(path for major in PLUGIN_MAJORS
                   for path in (pulumi_home / "plugins").glob(f"resource-gcp-v{major}.*/{PLUGIN_BINARY}"))  # fmt: skip
    return next((p for p in reversed(found) if os.access(p, os.X_OK)), None)


def credentials_check() -> Prerequisite:
    found = find_credentials()
    if found:
        return Prerequisite("google credentials", "ok", found)
    explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    detail = (f"GOOGLE_APPLICATION_CREDENTIALS={explicit} is not a file" if explicit
              else f"no Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS unset, no {adc_file()})")
    return Prerequisite("google credentials", "fail", detail, CREDENTIALS_HINT)


def gcp_checks(pulumi_home: Path) -> list[Prerequisite]:
    plugin = find_plugin(pulumi_home)
    auth_plugin = shutil.which("gke-gcloud-auth-plugin")
    return [
        credentials_check(),
        Prerequisite("pulumi gcp provider", "ok", str(plugin)) if plugin else
        Prerequisite("pulumi gcp provider", "fail", f"no resource-gcp v9.x/v10.x under {pulumi_home}/plugins",
                     PLUGIN_HINT.format(home=pulumi_home)),
        Prerequisite("gke-gcloud-auth-plugin", "ok", auth_plugin) if auth_plugin else
        Prerequisite("gke-gcloud-auth-plugin", "fail", "not on PATH (the cluster's kubeconfig runs it)",
                     AUTH_PLUGIN_HINT),
    ]  # fmt: skip
