"""Forgetting one session when the room keeps nothing but anonymous feedback (the facilitator's
"keep nothing"): its utterances, face readings, directions and recordings are deleted, its
feedback and performances kept without anyone's name, and the profiles (with their tastes) of
the phones that took part are deleted. Then the file is rewritten (:func:`.forget.scrub`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from appliance.store.forget import ForgetReport, drop_profiles, scrub


def forget_session(
    conn: sqlite3.Connection, session_id: str, device_ids: Sequence[str]
) -> ForgetReport:
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
    scrub(conn)
    return report
