"""The one error type the CLI turns into a clean message."""

from __future__ import annotations


class HelixFlowError(Exception):
    """A failure the user can act on: what went wrong, and how to fix it.

    The CLI prints ``message`` and ``hint`` on one stderr line and exits 1.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message
