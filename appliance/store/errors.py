"""What can go wrong with the box's memory, as messages for people."""

from __future__ import annotations

from appliance.errors import ApplianceError


class StoreError(ApplianceError):
    """The memory cannot be used (or one operation on it failed); the message says why and
    what was done about it. The music never depends on the memory: a caller carries on."""


class DamagedStore(StoreError):
    """The database file was damaged; it has been moved aside (``backup``), never deleted."""

    def __init__(self, message: str, backup: str) -> None:
        super().__init__(message)
        self.backup = backup


class NewerStore(StoreError):
    """The database was written by a newer version of the box; it is left as it is (a copy is
    kept in ``backup``) and this version works without it."""

    def __init__(self, message: str, backup: str) -> None:
        super().__init__(message)
        self.backup = backup
