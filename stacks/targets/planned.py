"""The shape of a target that is declared but not deployable in this release."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from helixflow.stacks.config import StackBase
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.secrets import SecretSource
from helixflow.stacks.targets.base import ComponentStatus, Program, Target


class PlannedTarget(Target[StackBase]):
    """Listed by `helixflow targets` with the reason it is not available; every deploy verb refuses it."""

    reason: ClassVar[str]

    def unavailable_reason(self) -> str:
        return self.reason

    def _refuse(self) -> HelixFlowError:
        return HelixFlowError(f"target {self.name!r} cannot be deployed: {self.reason}", hint="use target local")

    def preflight(self, config: StackBase, paths: StackPaths) -> Any:
        raise self._refuse()

    def program(self, config: StackBase, secrets: SecretSource, paths: StackPaths, host: Any) -> Program:
        raise self._refuse()

    def status(self, outputs: Mapping[str, Any]) -> list[ComponentStatus]:
        raise self._refuse()

    def log_file(self, paths: StackPaths, component: str) -> Path:
        raise self._refuse()
