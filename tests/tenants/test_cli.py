"""`helixflow tenant` refuses bad requests with one line and exit 1, before any engine runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from helixflow.cli.main import run


@pytest.fixture(autouse=True)
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path / "home"))
    return tmp_path


def one_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert run(list(args)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing on stdout but data
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in captured.err
    return lines[0]


def test_a_tenant_on_a_platform_that_is_not_up_says_to_bring_it_up(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error(capsys, "tenant", "create", "acme", "-s", "prod")
    assert "platform stack 'prod' is not up" in line and "helixflow up -s prod" in line


def test_bad_names_plans_and_files_are_refused(capsys: pytest.CaptureFixture[str], empty_home: Path) -> None:
    assert "a tenant name is 1-32 lowercase" in one_error(capsys, "tenant", "create", "ACME")
    assert "plan: Input should be" in one_error(capsys, "tenant", "create", "acme", "--plan", "gold")
    manifest = empty_home / "tenants.yaml"
    manifest.write_text("tenants:\n  - name: acme\n    rpm: 5\n")
    assert "tenants.0.rpm: unknown key" in one_error(capsys, "tenant", "apply", str(manifest))
    manifest.write_text("platform: prod\ntenants: []\n")
    assert "is for platform 'prod', -s names 'dev'" in one_error(capsys, "tenant", "apply", str(manifest), "-s", "dev")


def test_unknown_tenants_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert "no tenant 'ghost' on platform 'local'" in one_error(capsys, "tenant", "update", "ghost", "--rpm", "1")
    assert "tenant 'ghost' has no stack" in one_error(capsys, "tenant", "delete", "ghost")


def test_list_of_a_platform_without_tenants_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["tenant", "list", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
