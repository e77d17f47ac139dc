"""Errors the appliance reports to people: a clear message, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ApplianceError(Exception):
    """An error with a message meant for the user."""


class ScoreError(ApplianceError):
    """A score file that cannot be used, with the file named in the message."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@contextmanager
def reading_model_file(path: Path, what: str, how_to_make: str) -> Iterator[None]:
    """Turn a missing or malformed model file into one clear :class:`ApplianceError`."""
    try:
        yield
    except FileNotFoundError:
        raise ApplianceError(f"{path} is missing: {how_to_make}") from None
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ApplianceError(
            f"{path} is not a valid {what} ({type(exc).__name__}: {exc})"
        ) from None
