"""Errors the appliance reports to people: a clear message, never a traceback."""

from __future__ import annotations

from pathlib import Path


class ApplianceError(Exception):
    """An error with a message meant for the user."""


class ScoreError(ApplianceError):
    """A score file that cannot be used, with the file named in the message."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
