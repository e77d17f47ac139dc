"""Merging another box's memory into this one, by row id.

Row ids are random, so rows from another box never clash with this box's; a row already here
(the same id: an archive imported twice, the same piece or model version) is kept as it is.
Rows that break a constraint, or refer to a row that is in neither memory, are skipped.
Imported model versions are never active here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from appliance.store.codec import columns_of
from appliance.store.rows import ROW_TYPES

ALIAS = "incoming"


def _foreign_keys(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, str]]:
    """(column, parent table, parent column) of each reference in ``table``."""
    out = []
    for row in conn.execute(f"PRAGMA main.foreign_key_list({table})"):
        parent, column, parent_column = str(row[2]), str(row[3]), row[4]
        if parent_column is None:  # the parent's primary key
            parent_column = next(
                str(r[1]) for r in conn.execute(f"PRAGMA main.table_info({parent})") if r[5]
            )
        out.append((column, parent, str(parent_column)))
    return out


def merge(conn: sqlite3.Connection, other: Path) -> dict[str, tuple[int, int]]:
    """Insert the rows of the database ``other`` (same schema, already checked) that are not
    here yet; per table (rows added, rows offered). One transaction."""
    report: dict[str, tuple[int, int]] = {}
    conn.execute(f"ATTACH DATABASE ? AS {ALIAS}", (str(Path(other).resolve()),))
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for cls in ROW_TYPES:
                table = cls.TABLE
                columns = columns_of(cls)
                chosen = ["0" if c == "active" else c for c in columns]
                where = " AND ".join(
                    f"({c} IS NULL OR {c} IN (SELECT {pc} FROM main.{parent}))"
                    for c, parent, pc in _foreign_keys(conn, table)
                )
                before = conn.total_changes
                conn.execute(
                    f"INSERT OR IGNORE INTO main.{table} ({', '.join(columns)}) "
                    f"SELECT {', '.join(chosen)} FROM {ALIAS}.{table}"
                    + (f" WHERE {where}" if where else "")
                )
                offered = int(conn.execute(f"SELECT count(*) FROM {ALIAS}.{table}").fetchone()[0])
                report[table] = (conn.total_changes - before, offered)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute(f"DETACH DATABASE {ALIAS}")
    return report
