"""Crash safety with a real process: a child writes as fast as it can and reports each batch
it has seen committed; it is killed (SIGKILL) in the middle of writing. Every row it reported
must be there, and the database must open and pass SQLite's integrity check."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from appliance.paths import REPO_ROOT
from appliance.store import FaceReadingRow, FeedbackRow, Store, StoreSettings

BATCH = 250


def child(path: Path) -> None:
    """Write face readings and feedback in batches; after each flush, print how many rows of
    each are committed."""
    store = Store.open(path, StoreSettings(queue_size=100_000))
    i = 0
    while True:
        for _ in range(BATCH):
            store.put(FaceReadingRow(np.full(52, i % 1000, dtype=np.float32), id=f"r{i:09d}"))
            store.put(FeedbackRow("like", aspects={"n": i}, id=f"f{i:09d}"))
            i += 1
        store.flush()
        print(i, flush=True)


def _kill_while_writing(path: Path, after: float) -> int:
    proc = subprocess.Popen(
        [sys.executable, __file__, str(path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()  # writing has begun
        assert first.strip().isdigit(), "the writing process did not start"
        time.sleep(after)
    finally:
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    reported = [int(line) for line in (first + out).split()]
    return max(reported)


def test_sigkill_loses_no_committed_row(tmp_path):
    path = tmp_path / "store.sqlite3"
    committed = 0
    for after in (0.35, 0.8, 0.55):  # three kills at different moments, into the same file
        reported = _kill_while_writing(path, after)
        assert reported >= BATCH
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for table, prefix in (("face_readings", "r"), ("feedback", "f")):
            n = conn.execute(
                f"SELECT count(*) FROM {table} WHERE id < ?", (f"{prefix}{reported:09d}",)
            ).fetchone()[0]
            assert n == reported, f"{table}: {reported - n} committed rows lost"
        total = conn.execute("SELECT count(*) FROM face_readings").fetchone()[0]
        assert total < reported + 10 * BATCH  # killed while writing, not after
        conn.execute("DELETE FROM face_readings")
        conn.execute("DELETE FROM feedback")
        conn.commit()
        conn.close()
        committed += reported
    with Store.open(path) as store:  # and the box opens it as usual
        assert store.rows_per_table()["feedback"] == 0
    assert committed > 3 * BATCH


if __name__ == "__main__":
    child(Path(sys.argv[1]))
