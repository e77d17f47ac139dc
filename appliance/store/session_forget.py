"""Forgetting one session when the room keeps nothing but anonymous feedback (the facilitator's
"keep nothing"): its utterances, face readings, directions and recordings are deleted, its
feedback and performances kept without anyone's name, and the profiles (with their tastes) of
the phones that took part are deleted. Then the file is rewritten (:func:`.forget.scrub`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from appliance.store.forget import ForgetReport, drop_profiles, scrub


def forget_session(
    conn: sqlite3.Connection, session_id: str, device_ids: Sequence[str], scrubbed: bool = True
) -> ForgetReport:
    """Forget the session ``session_id`` and the phones ``device_ids`` that took part; the file
    rewritten after (unless ``scrubbed`` is False: the caller does it once for many)."""
    report = ForgetReport()
    ids = list(dict.fromkeys(device_ids))
    marks = ",".join("?" * len(ids))
    performances = "SELECT id FROM performances WHERE session_id = ?"
    conn.execute("BEGIN IMMEDIATE")
    try:
        # feedback first made anonymous: deleting a profile would otherwise take it along
        conn.execute(
            f"UPDATE feedback SET profile_id = NULL WHERE performance_id IN ({performances})"
            f" OR profile_id IN ({marks})",
            [session_id, *ids],
        )
        deletes = {
            "audio_clips": (
                "utterance_id IN (SELECT id FROM utterances WHERE session_id = ?)"
                f" OR profile_id IN ({marks})",
                [session_id, *ids],
            ),
            "utterances": (f"session_id = ? OR profile_id IN ({marks})", [session_id, *ids]),
            "face_readings": (
                f"performance_id IN ({performances}) OR profile_id IN ({marks})",
                [session_id, *ids],
            ),
            "directions_applied": (
                f"performance_id IN ({performances}) OR profile_id IN ({marks})",
                [session_id, *ids],
            ),
        }
        for table, (where, params) in deletes.items():
            n = conn.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount
            report.deleted[table] = max(n, 0)
        conn.execute("UPDATE performances SET profile_id = NULL WHERE session_id = ?", [session_id])
        drop_profiles(conn, ids, report)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if scrubbed:
        scrub(conn)
    return report


def sessions_since(conn: sqlite3.Connection, since: float, but: str) -> list[tuple[str, float]]:
    """The sessions (id, start) that started at ``since`` or later, except ``but``."""
    rows = conn.execute(
        "SELECT id, started FROM sessions WHERE started >= ? AND id != ? ORDER BY started",
        (since, but),
    ).fetchall()
    return [(str(i), float(s)) for i, s in rows]


def devices_in(
    conn: sqlite3.Connection, session_id: str, started: float, until: float
) -> list[str]:
    """The phones (profile ids) that took part in a session ended without the facilitator (the
    box stopped or crashed): every profile its rows name, and those made (paired) while it
    lasted, from ``started`` to ``until``."""
    performances = "SELECT id FROM performances WHERE session_id = :s"
    rows = conn.execute(
        f"""SELECT profile_id FROM performances WHERE session_id = :s
        UNION SELECT profile_id FROM utterances WHERE session_id = :s
        UNION SELECT profile_id FROM feedback WHERE performance_id IN ({performances})
        UNION SELECT profile_id FROM directions_applied WHERE performance_id IN ({performances})
        UNION SELECT profile_id FROM face_readings WHERE performance_id IN ({performances})
        UNION SELECT device_id FROM profiles WHERE created >= :a AND created < :b""",
        {"s": session_id, "a": started, "b": until},
    ).fetchall()
    return sorted({str(r[0]) for r in rows if r[0] is not None})


def forget_sessions_since(
    conn: sqlite3.Connection, since: float, but: str, now: float
) -> ForgetReport:
    """Keep nothing but anonymous feedback of every session that started at ``since`` or later,
    except the one playing (``but``): the sessions the box stopped (or crashed) in while the
    room kept nothing, which no facilitator ended. One :func:`scrub` at the end."""
    report = ForgetReport()
    sessions = sessions_since(conn, since, but)
    playing = conn.execute("SELECT started FROM sessions WHERE id = ?", (but,)).fetchone()
    last_until = float(playing[0]) if playing is not None else now
    for n, (session_id, started) in enumerate(sessions):
        until = sessions[n + 1][1] if n + 1 < len(sessions) else last_until
        devices = devices_in(conn, session_id, started, until)
        one = forget_session(conn, session_id, devices, scrubbed=False)
        report.profiles += one.profiles
        report.devices.extend(d for d in devices if d not in report.devices)
        for table, count in one.deleted.items():
            report.deleted[table] = report.deleted.get(table, 0) + count
    if sessions:
        scrub(conn)
    return report
