"""The CLI's frame: exit codes, one-line errors, JSON on stdout only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helixflow.cli import __version__
from helixflow.cli.main import app, run
from helixflow.stacks.errors import HelixFlowError


def helixflow(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console entry point as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "helixflow.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_version() -> None:
    proc = helixflow("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"helixflow {__version__}"


def test_no_arguments_prints_help() -> None:
    proc = helixflow()
    assert proc.returncode == 0
    assert "doctor" in proc.stdout


def test_unknown_command_is_one_line_usage_error() -> None:
    proc = helixflow("frobnicate")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == ["error: No such command 'frobnicate'. (hint: run 'helixflow --help')"]
    assert proc.stdout == ""


def test_bad_option_value_is_one_line_usage_error() -> None:
    proc = helixflow("doctor", "--only", "nonsense")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'nonsense' is not one of" in lines[0]
    assert "helixflow doctor --help" in lines[0]


def test_unknown_option_names_the_command() -> None:
    proc = helixflow("doctor", "--bogus")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: No such option: --bogus (hint: run 'helixflow doctor --help')"


def test_broken_environment_without_engine(tmp_path: Path) -> None:
    """No Pulumi CLI: doctor says so in its JSON and exits 1."""
    proc = helixflow("doctor", "--only", "pulumi", "--json", env={"HELIXFLOW_PULUMI_ROOT": str(tmp_path)})
    assert proc.returncode == 1
    report = json.loads(proc.stdout)  # stdout is data only
    assert report["ok"] is False
    engine = next(c for c in report["checks"] if c["name"] == "pulumi cli")
    assert engine["status"] == "fail"
    assert "setup.sh" in engine["hint"]


def test_engine_without_version_is_rejected(tmp_path: Path) -> None:
    """A CLI built without -ldflags prints no version; the Automation API would fail on it later."""
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    proc = helixflow("doctor", "--only", "pulumi", "--json", env={"HELIXFLOW_PULUMI_ROOT": str(tmp_path)})
    assert proc.returncode == 1
    engine = json.loads(proc.stdout)["checks"][0]
    assert "prints no version" in engine["detail"]


def _raise_helixflow_error() -> None:
    raise HelixFlowError("the stack 'x' has no outputs", hint="run 'helixflow up' first")


def _raise_unexpected() -> None:
    raise ValueError("boom")


@pytest.fixture
def failing_commands() -> object:
    app.command("fail-known")(_raise_helixflow_error)
    app.command("fail-unexpected")(_raise_unexpected)
    yield
    app.registered_commands[:] = [
        c for c in app.registered_commands if c.name not in ("fail-known", "fail-unexpected")
    ]


@pytest.mark.usefixtures("failing_commands")
def test_error_boundary_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELIXFLOW_DEBUG", raising=False)
    assert run(["fail-known"]) == 1
    err = capsys.readouterr().err
    assert err == "error: the stack 'x' has no outputs (hint: run 'helixflow up' first)\n"

    assert run(["fail-unexpected"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ValueError: boom" in err and "Traceback" not in err


@pytest.mark.usefixtures("failing_commands")
def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELIXFLOW_DEBUG", raising=False)
    with pytest.raises(HelixFlowError):
        run(["--debug", "fail-known"])
    monkeypatch.setenv("HELIXFLOW_DEBUG", "1")
    with pytest.raises(ValueError):
        run(["fail-unexpected"])


def test_doctor_json_lists_every_group() -> None:
    proc = helixflow("doctor", "--json")
    report = json.loads(proc.stdout)
    names = {c["name"] for c in report["checks"]}
    assert {"python", "pulumi cli", "pulumi python shim", "postgresql", "redis", "nginx", "prometheus"} <= names
    assert any(n.startswith("port ") for n in names)
    assert proc.returncode == (0 if report["ok"] else 1)


def test_help_does_not_import_heavy_modules() -> None:
    """--help must not pay for Pulumi, cloud SDKs or FastAPI."""
    code = (
        "import sys\n"
        "from helixflow.cli.main import run\n"
        "run(['--help'])\n"
        "heavy = [m for m in ('pulumi', 'pulumi_aws', 'pulumi_gcp', 'fastapi', 'httpx') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY="
