"""What an `aws` stack needs on this machine before the engine starts: AWS credentials, the Pulumi AWS
provider plugin (resource-aws v7), and the `aws` CLI (the cluster's kubeconfig runs `aws eks get-token`).
Each check reads environment variables and files only: no network, so it answers in milliseconds."""

from __future__ import annotations

import configparser
import os
import shutil
from pathlib import Path

from helixflow.stacks.prereqs import Prerequisite

PLUGIN_MAJOR = 7
PLUGIN_BINARY = "pulumi-resource-aws"
CREDENTIALS_HINT = ("run `aws configure` (or `aws configure sso`), or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY")  # fmt: skip
PLUGIN_HINT = ("pulumi plugin install resource aws {version} (a {major}.x, the installed pulumi-aws SDK's; "
               "with PULUMI_HOME={home})")
CLI_HINT = "install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)"


def _profiles(path: Path) -> list[str]:
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text())
    except (OSError, configparser.Error):
        return []
    return [section.removeprefix("profile ") for section in parser.sections()]


def find_credentials() -> str | None:
    """Where the AWS SDK would take credentials from, or None when nowhere (IMDS is not probed: no network)."""
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return "AWS_ACCESS_KEY_ID"
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN"):
        return "AWS_WEB_IDENTITY_TOKEN_FILE"
    if env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        return "container credentials"
    home = Path.home() / ".aws"
    files = (Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / "credentials"),
             Path(env.get("AWS_CONFIG_FILE") or home / "config"))  # fmt: skip
    wanted = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    for path in files:
        if wanted in _profiles(path):
            return f"profile {wanted} in {path}"
    return None


def sdk_version() -> str:
    """The provider version the installed pulumi-aws SDK asks the engine for."""
    from importlib.metadata import version

    return version("pulumi-aws")


def find_plugin(pulumi_home: Path) -> Path | None:
    """The newest resource-aws v7 plugin under PULUMI_HOME/plugins (the engine looks nowhere else offline)."""
    found = sorted((pulumi_home / "plugins").glob(f"resource-aws-v{PLUGIN_MAJOR}.*/{PLUGIN_BINARY}"))
    return next((p for p in reversed(found) if os.access(p, os.X_OK)), None)


def aws_checks(pulumi_home: Path) -> list[Prerequisite]:
    credentials = find_credentials()
    plugin = find_plugin(pulumi_home)
    cli = shutil.which("aws")
    return [
        Prerequisite("aws credentials", "ok", credentials) if credentials else
        Prerequisite("aws credentials", "fail", "no AWS credentials found", CREDENTIALS_HINT),
        Prerequisite("pulumi aws provider", "ok", str(plugin)) if plugin else
        Prerequisite("pulumi aws provider", "fail", f"no resource-aws v{PLUGIN_MAJOR}.x under {pulumi_home}/plugins",
                     PLUGIN_HINT.format(version=sdk_version(), major=PLUGIN_MAJOR, home=pulumi_home)),
        Prerequisite("aws cli", "ok", cli) if cli else
        Prerequisite("aws cli", "fail", "`aws` not on PATH (the kubeconfig runs `aws eks get-token`)", CLI_HINT),
    ]  # fmt: skip
