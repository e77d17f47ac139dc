"""How much the box remembers, for how long, and where (``StoreSettings``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.paths import data_dir

FILE_NAME = "store.sqlite3"

KEEP_DAYS = 365  # rows older than this are pruned
KEEP_MB = 500  # and the oldest rows go once the data passes this size


def store_path() -> Path:
    """The database file: ``store.sqlite3`` in the box's data folder (``$APPLIANCE_DATA``)."""
    return data_dir() / FILE_NAME


@dataclass(frozen=True)
class StoreSettings:
    """``keep_days``/``keep_bytes``: retention limits (enforced by ``prune`` at start and every
    ``prune_every`` seconds); ``keep_audio``: also keep raw talk recordings (off by default);
    ``queue_size``: writes waiting at most (more are dropped, with a warning, never waited
    for); ``batch``: writes per transaction at most."""

    keep_days: float = KEEP_DAYS
    keep_bytes: int = KEEP_MB * 1_000_000
    keep_audio: bool = False
    queue_size: int = 20_000
    batch: int = 1_000
    prune_every: float = 3600.0

    def __post_init__(self) -> None:
        if self.keep_days <= 0 or self.keep_bytes <= 0:
            raise ValueError("the memory's retention limits must be positive")
        if self.queue_size < 1 or self.batch < 1 or self.prune_every <= 0:
            raise ValueError("queue size, batch and prune interval must be positive")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> StoreSettings:
        """The settings, with ``APPLIANCE_KEEP_DAYS``, ``APPLIANCE_KEEP_MB`` and
        ``APPLIANCE_KEEP_AUDIO`` (1/yes/true) where set."""
        env = dict(os.environ) if environ is None else environ
        try:
            days = float(env.get("APPLIANCE_KEEP_DAYS") or KEEP_DAYS)
            megabytes = float(env.get("APPLIANCE_KEEP_MB") or KEEP_MB)
            audio = env.get("APPLIANCE_KEEP_AUDIO", "").strip().lower() in ("1", "yes", "true")
            return cls(keep_days=days, keep_bytes=int(megabytes * 1_000_000), keep_audio=audio)
        except ValueError as exc:
            raise ApplianceError(
                f"APPLIANCE_KEEP_DAYS and APPLIANCE_KEEP_MB must be positive numbers ({exc})"
            ) from None
