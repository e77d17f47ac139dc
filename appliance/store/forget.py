"""Forgetting a person (everything tied to their display name) or everyone, for good: the
rows are deleted, then the file is rewritten (VACUUM) and the write-ahead log emptied, so
nothing of them stays in the database's files."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

# Children before parents, so that every deleted row is counted in its own table.
PERSONAL = ("audio_clips", "face_readings", "utterances", "directions_applied", "feedback")
EVERYTHING = (
    *PERSONAL,
    "tastes",
    "performances",
    "sessions",
    "profiles",
    "model_versions",
    "pieces",
)


@dataclass
class ForgetReport:
    profiles: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    devices: list[str] = field(default_factory=list)  # the profiles forgotten, when known

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def same_name(a: str, b: str) -> bool:
    """Display names compare without regard to case, width or surrounding spaces."""

    def key(s: str) -> str:
        return unicodedata.normalize("NFKC", s).strip().casefold()

    return key(a) == key(b)


def scrub(conn: sqlite3.Connection) -> None:
    """Rewrite the file without the deleted content and empty the write-ahead log."""
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def drop_profiles(conn: sqlite3.Connection, ids: Sequence[str], report: ForgetReport) -> None:
    """Within the caller's transaction: delete the profiles ``ids`` with their tastes, counted
    in ``report``; their performances stay, without the name."""
    marks = ",".join("?" * len(ids))
    n = conn.execute(f"DELETE FROM tastes WHERE owner IN ({marks})", ids).rowcount
    report.deleted["tastes"] = max(n, 0)
    conn.execute(f"UPDATE performances SET profile_id = NULL WHERE profile_id IN ({marks})", ids)
    n = conn.execute(f"DELETE FROM profiles WHERE device_id IN ({marks})", ids).rowcount
    report.profiles = report.deleted["profiles"] = max(n, 0)


def forget_user(conn: sqlite3.Connection, name: str) -> ForgetReport:
    """Erase the profiles called ``name`` (every phone that chose it) with their feedback,
    directions, utterances, face readings, recordings and taste; their performances are kept without
    the name. Then :func:`scrub`."""
    report = ForgetReport()
    conn.execute("BEGIN IMMEDIATE")
    try:
        ids = [
            device
            for device, shown in conn.execute("SELECT device_id, name FROM profiles")
            if same_name(shown, name)
        ]
        marks = ",".join("?" * len(ids))
        for table in PERSONAL:
            n = conn.execute(f"DELETE FROM {table} WHERE profile_id IN ({marks})", ids).rowcount
            report.deleted[table] = max(n, 0)
        drop_profiles(conn, ids, report)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    scrub(conn)
    return report


def forget_all(conn: sqlite3.Connection) -> ForgetReport:
    """Erase every row of every table, then :func:`scrub`."""
    report = ForgetReport()
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in EVERYTHING:
            n = conn.execute(f"DELETE FROM {table}").rowcount
            report.deleted[table] = max(n, 0)
        report.profiles = report.deleted["profiles"]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    scrub(conn)
    return report
