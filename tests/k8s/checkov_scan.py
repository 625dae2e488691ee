"""Running checkov offline over a folder of manifests and Dockerfiles, and holding its findings against the
written-down waivers (tests/k8s/checkov-waivers.yaml), for tests/k8s/test_checkov.py.

Open-source checkov gives no severities without a platform key, so every failed check counts: it fails the
test unless a waiver names its check and the object, with the reason it is accepted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

WAIVERS = Path(__file__).with_name("checkov-waivers.yaml")
FRAMEWORKS = ("kubernetes", "dockerfile")
# Without it (and --skip-download) checkov contacts remote services at start and stalls offline.
OFFLINE = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}


def checkov() -> str:
    found = shutil.which("checkov") or str(Path(sys.executable).parent / "checkov")
    assert Path(found).exists(), "checkov is missing: ./scripts/setup.sh installs it (install-python-tool.sh)"
    return found


@dataclass(frozen=True)
class Finding:
    framework: str
    check: str
    name: str
    resource: str  # kubernetes: Kind.namespace.name; dockerfile: the file's path under the scanned folder
    file: str

    def __str__(self) -> str:
        return f"{self.check} ({self.name}) on {self.resource} in {self.file}"


@dataclass(frozen=True)
class Report:
    frameworks: list[str]
    passed: list[Finding]
    failed: list[Finding]


@dataclass(frozen=True)
class Waiver:
    check: str
    objects: tuple[str, ...]  # glob patterns over Finding.resource
    reason: str

    def covers(self, finding: Finding) -> bool:
        return finding.check == self.check and any(fnmatchcase(finding.resource, p) for p in self.objects)


def run_checkov(folder: Path) -> Report:
    """checkov's kubernetes and dockerfile frameworks over every file under `folder`, offline."""
    command = [checkov(), "-d", str(folder), "--framework", *FRAMEWORKS, "--skip-download",
               "--compact", "-o", "json"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **OFFLINE}, check=False,
                          timeout=300)  # fmt: skip
    assert done.returncode in (0, 1), f"checkov failed to run ({done.returncode}): {done.stderr[-2000:]}"
    reports = json.loads(done.stdout)
    frameworks, passed, failed = [], [], []
    for report in reports if isinstance(reports, list) else [reports]:
        framework = report["check_type"]
        assert report["summary"]["parsing_errors"] == 0, f"checkov could not parse a {framework} file: {report}"
        frameworks.append(framework)
        passed += [_finding(framework, check) for check in report["results"]["passed_checks"]]
        failed += [_finding(framework, check) for check in report["results"]["failed_checks"]]
    return Report(frameworks, passed, failed)


def _finding(framework: str, check: dict[str, Any]) -> Finding:
    file = check["file_path"].lstrip("/")
    resource = check["resource"] if framework == "kubernetes" else file
    return Finding(framework, check["check_id"], check["check_name"], resource, file)


def load_waivers(path: Path = WAIVERS) -> list[Waiver]:
    """The waiver file: a list of {check, objects, reason}; each field required, each reason a sentence."""
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text()) or []
    waivers = []
    for entry in entries:
        assert set(entry) == {"check", "objects", "reason"}, f"a waiver has exactly check, objects, reason: {entry}"
        assert entry["objects"] and "*" not in entry["objects"], f"a waiver names its objects: {entry}"
        assert len(str(entry["reason"]).split()) >= 5, f"a waiver says why: {entry}"
        waivers.append(Waiver(str(entry["check"]), tuple(entry["objects"]), str(entry["reason"]).strip()))
    return waivers


def unwaived(findings: list[Finding], waivers: list[Waiver]) -> list[Finding]:
    return [f for f in findings if not any(w.covers(f) for w in waivers)]


def unused(findings: list[Finding], waivers: list[Waiver]) -> list[str]:
    """Waiver patterns that cover no finding any more: a fixed finding takes its waiver with it."""
    stale = []
    for waiver in waivers:
        for pattern in waiver.objects:
            if not any(f.check == waiver.check and fnmatchcase(f.resource, pattern) for f in findings):
                stale.append(f"{waiver.check} {pattern}")
    return stale
