"""The gcp target: available, its preflight refusing in under 5 s without credentials or the provider
plugin (before the engine, no state written), doctor listing the same, `down` refused under deletion
protection, and the program building without touching the host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helixflow.stacks.config import parse_config
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.targets import get_target
from helixflow.stacks.targets.gcp_preflight import gcp_checks

pytestmark = pytest.mark.unit
STACK = {"target": "gcp", "gcp": {"project": "acme-inference"}}


def bare_env(tmp_path: Path) -> dict[str, str]:
    """A machine with no Google credentials, no gcloud config and no plugins."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOOGLE_", "CLOUDSDK_", "PULUMI_"))}  # fmt: skip
    (tmp_path / "home").mkdir(exist_ok=True)
    return {**env, "HOME": str(tmp_path / "home"), "HELIXFLOW_HOME": str(tmp_path / "hf")}


def write_stack(home: Path, name: str, settings: dict[str, object]) -> None:
    project = home / "project"
    project.mkdir(parents=True, exist_ok=True)
    config = {f"helixflow:{key}": value for key, value in settings.items()}
    (project / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def test_gcp_is_an_available_target() -> None:
    info = get_target("gcp").info()
    assert info.available and not info.unavailable_reason and not info.unsupported


def test_up_without_credentials_or_plugin_stops_before_the_engine_in_under_5_s(tmp_path: Path) -> None:
    env = bare_env(tmp_path)
    write_stack(tmp_path / "hf", "g", STACK)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "helixflow.cli.main", "up", "--yes", "-s", "g"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert "the gcp target cannot run here" in proc.stderr and "Traceback" not in proc.stderr
    assert "gcloud auth application-default login" in proc.stderr
    assert "pulumi plugin install resource gcp 10.2.0" in proc.stderr
    assert elapsed < 5, f"the refusal took {elapsed:.1f} s"
    assert not (tmp_path / "hf" / "state").exists()  # the engine never started


def test_preflight_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in bare_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith(("GOOGLE_", "CLOUDSDK_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    config = parse_config(STACK)
    started = time.monotonic()
    with pytest.raises(HelixFlowError) as err:
        get_target("gcp").preflight(config, StackPaths(home=tmp_path / "hf", stack="g"))
    assert time.monotonic() - started < 5
    assert f"GOOGLE_APPLICATION_CREDENTIALS={tmp_path / 'missing.json'} is not a file" in err.value.message
    assert "no resource-gcp v9.x/v10.x under" in err.value.message


def test_doctor_checks_pass_with_credentials_plugin_and_auth_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    adc = home / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text(json.dumps({"type": "authorized_user"}))
    plugin = tmp_path / "ph" / "plugins" / "resource-gcp-v9.12.0" / "pulumi-resource-gcp"
    tools = tmp_path / "bin"
    for binary in (plugin, tools / "gke-gcloud-auth-plugin"):
        binary.parent.mkdir(parents=True, exist_ok=True)
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    for key in [k for k in os.environ if k.startswith(("GOOGLE_", "CLOUDSDK_"))]:
        monkeypatch.delenv(key)
    checks = {c.name: c for c in gcp_checks(tmp_path / "ph")}
    assert [c.status for c in checks.values()] == ["ok", "ok", "ok"]
    assert checks["google credentials"].detail == str(adc) and checks["pulumi gcp provider"].detail == str(plugin)
    adc.unlink()
    assert gcp_checks(tmp_path / "ph")[0].status == "fail"


def test_doctor_lists_the_same_prerequisites(tmp_path: Path) -> None:
    env = bare_env(tmp_path)
    write_stack(tmp_path / "hf", "g", STACK)
    proc = subprocess.run([sys.executable, "-m", "helixflow.cli.main", "doctor", "-s", "g", "--json"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert proc.returncode == 1
    assert checks["google credentials"]["status"] == "fail"
    assert "gcloud auth application-default login" in checks["google credentials"]["hint"]
    assert checks["pulumi gcp provider"]["status"] == "fail"
    assert "pulumi plugin install resource gcp" in checks["pulumi gcp provider"]["hint"]
    assert "gke-gcloud-auth-plugin" in checks


def test_down_is_refused_while_cloud_sql_has_deletion_protection(tmp_path: Path) -> None:
    target = get_target("gcp")
    paths = StackPaths(home=tmp_path, stack="prod")
    with pytest.raises(HelixFlowError) as err:
        target.check_down(parse_config(STACK), paths, {})
    assert "Cloud SQL instance hf-prod-db (deletion_protection, settings.deletion_protection_enabled)" in (
        err.value.message)
    assert "helixflow config set gcp.deletion_protection false" in str(err.value.hint)
    lifted = parse_config({"target": "gcp", "gcp": {"project": "acme-inference", "deletion_protection": False}})
    with pytest.raises(HelixFlowError, match="Cloud SQL"):  # lifted in the file, not yet applied by an `up`
        target.check_down(lifted, paths, {"protected_data_stores": ["Cloud SQL instance hf-prod-db"]})
    target.check_down(lifted, paths, {"protected_data_stores": []})


def test_the_program_exports_what_status_reads() -> None:
    from tests.gcp.conftest import SECRETS
    from tests.gcp.mocks import run_program

    exported: dict[str, object] = {}
    import pulumi

    from helixflow.stacks.targets.gcp_program import GcpAccess, build_gcp_program

    config = parse_config(STACK)
    program = build_gcp_program(config, lambda: SECRETS, GcpAccess(credentials="adc"))  # type: ignore[arg-type]

    def recording() -> None:
        original = pulumi.export
        pulumi.export = lambda name, value: exported.__setitem__(name, value)  # type: ignore[assignment]
        try:
            program()
        finally:
            pulumi.export = original

    run_program(recording)
    assert {"kubeconfig_yaml", "workloads", "protected_data_stores", "database_ip", "bucket"} <= set(exported)
    assert exported["target"] == "gcp" and exported["project"] == "acme-inference"


def test_the_example_plans_under_mocks() -> None:
    from helixflow.stacks.targets.gcp_program import GcpAccess, build_gcp_program
    from tests.gcp.conftest import SECRETS
    from tests.gcp.mocks import run_program

    document = yaml.safe_load((Path(__file__).parents[2] / "examples/gcp-gpu/Pulumi.gpu-prod.yaml").read_text())
    config = parse_config({key.partition(":")[2]: value for key, value in document["config"].items()})
    resources = run_program(build_gcp_program(config, lambda: SECRETS, GcpAccess(credentials="adc"))).resources  # type: ignore[arg-type]
    pools = {name: r.inputs for (type_, name), r in resources.items() if type_ == "gcp:container/nodePool:NodePool"}
    assert set(pools) == {"hf-unit-cluster-system", "hf-unit-cluster-h100", "hf-unit-cluster-l4-spot"}
    assert pools["hf-unit-cluster-l4-spot"]["nodeConfig"]["guestAccelerators"][0]["count"] == 4
    cluster = next(r.inputs for (type_, _), r in resources.items() if type_ == "gcp:container/cluster:Cluster")
    assert cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"][0]["cidrBlock"] == "203.0.113.0/24"


def test_status_reads_the_clusters_workloads_through_the_exported_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kubeconfig output carries no credential, so `status` gets it unmasked and hands it on."""
    from helixflow.stacks.targets import kubernetes_status

    seen: dict[str, object] = {}

    def fake_statuses(outputs: dict[str, object]) -> list[object]:
        seen.update(outputs)
        seen["text"] = Path(str(outputs["kubeconfig"])).read_text()
        return []

    monkeypatch.setattr(kubernetes_status, "cluster_statuses", fake_statuses)
    assert get_target("gcp").status({"kubeconfig_yaml": '{"apiVersion": "v1"}', "workloads": []}) == []
    assert seen["text"] == '{"apiVersion": "v1"}' and seen["context"] == ""
    assert get_target("gcp").status({}) == []
