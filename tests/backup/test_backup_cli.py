"""The backup verbs' refusals, without an engine or a database: a cluster stack says what its backup verbs
need (a configured bucket, --from for a cloud's bucket) and why it offers no restore, and a local stack
refuses a destination it cannot write or a retention that would delete the new backup. Google credentials are
never found here (GOOGLE_APPLICATION_CREDENTIALS names a missing file), so a gs:// prefix fails on them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helixflow.cli.main import run

pytestmark = pytest.mark.unit


def write_stack(home: Path, name: str, config: dict[str, object]) -> None:
    project = home / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("target", "argv", "says"),
    [("kubernetes", ["backup"], "kubernetes.backup.bucket_uri is not set"),
     ("kubernetes", ["backup", "list"], "runs no backup CronJob, so it has no bucket"),
     ("kubernetes", ["backup", "--to", "s3://b/p/"], "go where its CronJob writes them"),
     ("kubernetes", ["restore", "x.dump"], "runs no backup CronJob (kubernetes.backup.bucket_uri is not set)"),
     ("kubernetes", ["restore", "../x.dump"], "is not a backup's name"),
     ("aws", ["restore", "s3://b/backups/x.tar"], "is not a backup's name"),
     ("gcp", ["backup", "list", "--from", "gs://bkt/backups/"], "could not list gs://bkt/backups/ (no Google "
      "credentials: File"),
     ("gcp", ["backup", "list", "--from", "gs://bkt/backups/"], "gcloud auth application-default login"),
     ("gcp", ["restore", "x; rm -rf /"], "is not a backup's name")],
)  # fmt: skip
def test_a_cluster_target_says_what_its_backup_verbs_need_before_the_engine(
    home: Path, capsys: pytest.CaptureFixture[str], target: str, argv: list[str], says: str
) -> None:
    write_stack(home, "cluster", {"helixflow:target": target, **({"helixflow:gcp": {"project": "acme-inference"}}
                                                                if target == "gcp" else {})})  # fmt: skip
    assert run([*argv, "-s", "cluster"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert says in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("destination", "says"),
    [("/srv/backups", "backs up into its own backup folder or a bucket"),
     ("gs://bucket/backups", "give gs://bucket/prefix/ (a bucket, then a prefix ending in '/')"),
     ("az://bucket/backups/", "give s3://bucket/prefix/ or gs://bucket/prefix/"),
     ("s3://bucket/backups", "is not a bucket prefix"), ("ftp://host/backups/", "not a bucket URL")],
)  # fmt: skip
def test_a_local_stack_refuses_a_destination_it_cannot_write_before_the_engine(
    home: Path, capsys: pytest.CaptureFixture[str], destination: str, says: str
) -> None:
    write_stack(home, "dev", {})
    assert run(["backup", "-s", "dev", "--to", destination]) == 1
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_a_retention_of_zero_days_is_refused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(home, "dev", {})
    assert run(["backup", "-s", "dev", "--retention-days", "0"]) == 1
    assert "--retention-days 1 or more" in capsys.readouterr().err


def test_a_local_stack_without_backups_lists_none(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(home, "dev", {})
    assert run(["backup", "list", "-s", "dev", "--json"]) == 0
    assert capsys.readouterr().out.strip().replace(" ", "").replace("\n", "") == '{"stack":"dev","backups":[]}'


def test_restoring_a_backup_that_is_not_there_names_the_way_to_take_one(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(home, "dev", {})
    assert run(["restore", "-s", "dev", "nope.dump"]) == 1
    err = capsys.readouterr().err
    assert "no backup 'nope.dump' for stack 'dev'" in err and "helixflow backup" in err


def test_a_cloud_stack_without_backups_says_so_before_the_engine(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(home, "cluster", {"helixflow:target": "aws", "helixflow:aws": {"backup": {"enabled": False}}})
    for argv in (["backup", "list"], ["backup"], ["restore", "helixflow-20261201T031700Z.dump"]):
        assert run([*argv, "-s", "cluster"]) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert "runs no backup CronJob (aws.backup.enabled is false)" in err and "Traceback" not in err, argv
