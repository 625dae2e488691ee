"""What a validation run produces: one result per check and a summary with the exit code.

Exit codes (documented in `helixflow validate --help`): 0 every critical check passed and the
success rate is above the threshold; 3 a critical check failed; 4 no critical check failed but
the success rate is at or below the threshold (or no check ran). 1 and 2 stay the CLI's own
(an error before validation could run; a usage error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

EXIT_OK = 0
EXIT_CRITICAL_FAILED = 3
EXIT_SUCCESS_RATE_LOW = 4
DEFAULT_SUCCESS_RATE = 95.0


class Status(StrEnum):
    passed = "pass"
    failed = "fail"
    skipped = "skipped"


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: its status, a measured value, and why when it did not pass."""

    status: Status
    value: str = ""
    explanation: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def passed(value: str = "", **data: Any) -> Outcome:
    return Outcome(Status.passed, value=value, data=data)


def failed(explanation: str, value: str = "", **data: Any) -> Outcome:
    return Outcome(Status.failed, value=value, explanation=explanation, data=data)


def skipped(reason: str) -> Outcome:
    return Outcome(Status.skipped, explanation=reason)


class CheckFailed(Exception):
    """Raised inside a check: it failed, for this one-line reason."""

    def __init__(self, explanation: str, value: str = "") -> None:
        super().__init__(explanation)
        self.explanation, self.value = explanation, value


class CheckSkipped(Exception):
    """Raised inside a check: it does not apply to this deployment, for this reason."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    group: str
    critical: bool
    description: str
    outcome: Outcome
    seconds: float

    @property
    def status(self) -> Status:
        return self.outcome.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "critical": self.critical,
            "description": self.description,
            "status": self.status.value,
            "value": self.outcome.value or None,
            "explanation": self.outcome.explanation or None,
            "seconds": round(self.seconds, 3),
            "data": self.outcome.data,
        }


@dataclass(frozen=True)
class Report:
    """All results of one run. Success rate = passed / (passed + failed); skipped checks count in neither."""

    results: list[CheckResult]
    seconds: float
    target: str
    min_success_rate: float = DEFAULT_SUCCESS_RATE

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def success_rate(self) -> float | None:
        ran = self.count(Status.passed) + self.count(Status.failed)
        return None if ran == 0 else 100.0 * self.count(Status.passed) / ran

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.critical and r.status == Status.failed]

    @property
    def exit_code(self) -> int:
        if self.critical_failures:
            return EXIT_CRITICAL_FAILED
        rate = self.success_rate
        if rate is None or rate <= self.min_success_rate:
            return EXIT_SUCCESS_RATE_LOW
        return EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def verdict(self) -> str:
        if self.critical_failures:
            names = ", ".join(f"{r.group}/{r.name}" for r in self.critical_failures)
            return f"FAILED: critical check(s) failed: {names}"
        rate = self.success_rate
        if rate is None:
            return "FAILED: no check ran"
        if rate <= self.min_success_rate:
            return f"FAILED: success rate {rate:.1f}% is not above {self.min_success_rate:g}%"
        return "PASSED"

    def summary(self) -> dict[str, Any]:
        rate = self.success_rate
        return {
            "target": self.target,
            "passed": self.count(Status.passed),
            "failed": self.count(Status.failed),
            "skipped": self.count(Status.skipped),
            "critical_failed": len(self.critical_failures),
            "success_rate": None if rate is None else round(rate, 2),
            "min_success_rate": self.min_success_rate,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "verdict": self.verdict(),
            "seconds": round(self.seconds, 2),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "checks": [r.to_dict() for r in self.results]}
