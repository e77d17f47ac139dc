"""The writer thread: a stalled writer never blocks a caller (full queue → dropped, counted,
warned once), and a full disk is a message, not the end of the thread."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import numpy as np

from appliance.store import FaceReadingRow, FeedbackRow, Store, StoreSettings


def _reading(i: int) -> FaceReadingRow:
    return FaceReadingRow(np.full(52, i, dtype=np.float32), id=f"r{i:06d}")


def test_a_stalled_writer_never_blocks_put(tmp_path, caplog):
    path = tmp_path / "store.sqlite3"
    store = Store.open(path, StoreSettings(queue_size=100, batch=10))
    other = sqlite3.connect(path, isolation_level=None)  # another process holding the lock
    other.execute("BEGIN IMMEDIATE")
    try:
        results: list[bool] = []
        took: list[float] = []

        def caller() -> None:  # the audio path, say
            for i in range(1000):
                start = time.perf_counter()
                results.append(store.put(_reading(i)))
                took.append(time.perf_counter() - start)

        with caplog.at_level(logging.WARNING, logger="appliance.store"):
            thread = threading.Thread(target=caller)
            thread.start()
            thread.join(timeout=5.0)
            assert not thread.is_alive(), "put blocked while the writer was stalled"
        accepted = sum(results)
        assert 100 <= accepted <= 111  # the queue, and the batch the writer is holding
        assert store.counts.dropped == 1000 - accepted
        assert max(took) < 0.5
        warnings = [r for r in caplog.records if "dropped" in r.getMessage()]
        assert len(warnings) == 1  # once, not once per dropped write
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.flush()
    assert store.counts.committed == accepted and store.counts.lost == 0
    assert store.rows_per_table()["face_readings"] == accepted
    store.close()


def test_a_full_disk_is_a_message_and_the_writer_goes_on(tmp_path):
    store = Store.open(tmp_path / "store.sqlite3")
    try:
        pages = store._writer.run(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
        store._writer.run(lambda c: c.execute(f"PRAGMA max_page_count = {pages + 2}"))
        for i in range(200):  # about 60 kB: more than two pages
            store.put(_reading(i))
        store.flush()
        assert store.counts.lost > 0
        assert store.problem is not None and "the disk is full" in store.problem
        assert store._writer.alive

        store._writer.run(lambda c: c.execute("PRAGMA max_page_count = 1000000"))
        assert store.put(FeedbackRow("like", id="after"))
        store.flush()
        assert store.get(FeedbackRow, "after") is not None
    finally:
        store.close()


def test_writes_waiting_together_are_committed_in_one_transaction(tmp_path):
    path = tmp_path / "store.sqlite3"
    store = Store.open(path, StoreSettings(batch=500))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the writer waits while 2000 writes pile up
    try:
        for i in range(2000):
            assert store.put(_reading(i))
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.flush()
    assert store.counts.committed == 2000 == store.rows_per_table()["face_readings"]
    assert store.counts.transactions <= 2000 // 500 + 2
    store.close()


def test_close_commits_what_is_queued(tmp_path):
    path = tmp_path / "store.sqlite3"
    store = Store.open(path)
    for i in range(500):
        store.put(_reading(i))
    store.close()
    assert not store.put(_reading(9999))  # closed: refused, not an exception
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM face_readings").fetchone()[0] == 500
    conn.close()


def test_a_memory_locked_by_another_process_is_waited_for(tmp_path):
    """`appliance data forget` rewrites the file while the box plays: the box's writes wait for
    it (a few busy timeouts) instead of being lost; held for longer, the batch is lost and
    said."""
    path = tmp_path / "store.sqlite3"
    store = Store.open(path)
    try:
        store._writer.run(lambda c: c.execute("PRAGMA busy_timeout = 200"))

        def hold(seconds: float, holding: threading.Event) -> None:
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            holding.set()
            time.sleep(seconds)
            other.execute("COMMIT")
            other.close()

        holding = threading.Event()
        holder = threading.Thread(target=hold, args=(0.9, holding))
        holder.start()
        holding.wait(5)
        assert store.put(FeedbackRow("like", id="while-locked"))
        store.flush()
        holder.join()
        assert store.get(FeedbackRow, "while-locked") is not None
        assert store.counts.lost == 0 and store.problem is None

        holding = threading.Event()
        holder = threading.Thread(target=hold, args=(3.0, holding))  # 8 tries of 0.2 s: lost
        holder.start()
        holding.wait(5)
        assert store.put(FeedbackRow("like", id="too-long"))
        store.flush()
        holder.join()
        assert store.counts.lost == 1 and store.problem is not None
        assert "locked" in store.problem
    finally:
        store.close()
