"""Retention: rows older than the limit in days go, then the oldest rows until the data fits
the size limit. Freed pages are handed back to the file system (incremental vacuum). The
session and the performance being played are never deleted (deleting them would take
everything in them along, and their new rows would have nothing to belong to); their old
rows go like any others."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

# Tables with a time, children before parents; deleting a parent takes its children along
# (ON DELETE CASCADE), counted with the parent.
TIMED: tuple[tuple[str, str], ...] = (
    ("audio_clips", "at"),
    ("face_readings", "at"),
    ("utterances", "at"),
    ("feedback", "at"),
    ("directions_applied", "at"),
    ("performances", "started"),
    ("sessions", "coalesce(ended, started)"),
)
_REFERRING = (  # (table, column) that name a profile
    ("performances", "profile_id"),
    ("feedback", "profile_id"),
    ("directions_applied", "profile_id"),
    ("utterances", "profile_id"),
    ("face_readings", "profile_id"),
    ("audio_clips", "profile_id"),
)
MAX_ROUNDS = 40  # size pruning deletes the oldest 10 % of the time span per round


@dataclass
class PruneReport:
    deleted: dict[str, int] = field(default_factory=dict)
    bytes_before: int = 0
    bytes_after: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def used_bytes(conn: sqlite3.Connection) -> int:
    """The bytes the rows take (the file's pages less its free pages)."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    return (pages - free) * size


Live = Mapping[str, str | None]  # table → the id of its row being played now


def _spared(table: str, live: Live) -> tuple[str, tuple[str, ...]]:
    """The condition (and its parameters) that keeps ``table``'s row being played."""
    key = live.get(table)
    return ("AND id != ?", (key,)) if key is not None else ("", ())


def _delete_before(
    conn: sqlite3.Connection, cutoff: float, report: PruneReport, live: Live | None = None
) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table, when in TIMED:
            spare, params = _spared(table, live or {})
            n = conn.execute(
                f"DELETE FROM {table} WHERE {when} < ? {spare}", (cutoff, *params)
            ).rowcount
            report.deleted[table] = report.deleted.get(table, 0) + max(n, 0)
        n = conn.execute(
            "DELETE FROM profiles WHERE created < ? AND "
            + " AND ".join(
                f"device_id NOT IN (SELECT {c} FROM {t} WHERE {c} IS NOT NULL)"
                for t, c in _REFERRING
            ),
            (cutoff,),
        ).rowcount
        report.deleted["profiles"] = report.deleted.get("profiles", 0) + max(n, 0)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _time_span(conn: sqlite3.Connection, live: Live | None = None) -> tuple[float, float] | None:
    lows, highs = [], []
    for table, when in TIMED:
        spare, params = _spared(table, live or {})
        low, high = conn.execute(
            f"SELECT min({when}), max({when}) FROM {table} WHERE 1 {spare}", params
        ).fetchone()
        if low is not None:
            lows.append(float(low))
            highs.append(float(high))
    return (min(lows), max(highs)) if lows else None


def size_cutoff(oldest: float, newest: float) -> float:
    """Where a round of size pruning cuts: 10 % of the span (at least a second) after the
    oldest row."""
    return oldest + max((newest - oldest) * 0.1, 1.0)


def prune(
    conn: sqlite3.Connection,
    keep_days: float,
    keep_bytes: int,
    now: float,
    live: Live | None = None,
) -> PruneReport:
    """Delete what is older than ``keep_days`` before ``now``, then the oldest rows until the
    rows take at most ``keep_bytes``; the rows being played (``live``) stay."""
    report = PruneReport(bytes_before=used_bytes(conn))
    _delete_before(conn, now - keep_days * 86400.0, report, live)
    for _ in range(MAX_ROUNDS):
        if used_bytes(conn) <= keep_bytes:
            break
        span = _time_span(conn, live)
        if span is None:
            break
        _delete_before(conn, size_cutoff(*span), report, live)
    if report.total:
        conn.executescript("PRAGMA incremental_vacuum;")  # stepped to the end: every page
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    report.bytes_after = used_bytes(conn)
    return report
