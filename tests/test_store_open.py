"""Opening the memory: migrations from empty and from the previous schema, the pragmas, and
the bad cases — a damaged file, a newer schema — each with a clear message, a backup and a
box that carries on."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from appliance.errors import ApplianceError
from appliance.store import (
    AudioClipRow,
    FeedbackRow,
    NewerStore,
    PerformanceRow,
    Store,
    StoreSettings,
    TasteRow,
    open_store,
)
from appliance.store import schema as schema_module
from appliance.store.codec import to_columns
from appliance.store.connection import connect, open_database
from appliance.store.schema import SCHEMA_VERSION, Migration, migrate, schema_version
from tests.test_store import same, sample_rows


def _version(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_a_new_memory_has_the_whole_schema_and_the_pragmas(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        assert store.rows_per_table()["audio_clips"] == 0
        conn = store._reader()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    assert _version(path) == SCHEMA_VERSION == 3


def test_a_memory_at_the_previous_schema_is_migrated_keeping_its_rows(tmp_path):
    path = tmp_path / "store.sqlite3"
    conn = connect(path)
    assert migrate(conn, upto=1) == [1]
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "audio_clips" not in names  # what migration 2 adds
    rows = [r for r in sample_rows() if not isinstance(r, AudioClipRow | TasteRow)]
    for row in rows:
        values = to_columns(row)
        conn.execute(
            f"INSERT INTO {row.TABLE} ({', '.join(values)}) "
            f"VALUES ({', '.join('?' * len(values))})",
            list(values.values()),
        )
    conn.close()
    assert _version(path) == 1

    with Store.open(path, StoreSettings(keep_audio=True)) as store:
        assert _version(path) == SCHEMA_VERSION
        for row in rows:
            back = store.get(type(row), getattr(row, row.KEY))
            assert back is not None and same(back, row)
        assert store.put(AudioClipRow(b"\x01\x00" * 8, utterance_id="a-utterance", id="clip"))
        store.flush()
        assert store.get(AudioClipRow, "clip") is not None


def test_a_failing_migration_leaves_the_last_complete_version(tmp_path, monkeypatch):
    path = tmp_path / "store.sqlite3"
    Store.open(path).close()
    broken = Migration(4, "broken", ("CREATE TABLE later (x)", "THIS IS NOT SQL"))
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, broken))
    conn = connect(path)
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, upto=4)
    assert schema_version(conn) == 3
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='later'").fetchone()[0] == 0
    conn.close()


def test_a_newer_schema_is_left_alone_with_a_copy_and_the_box_goes_without(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        store.put_many(sample_rows())
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    before = list(conn.iterdump())
    conn.close()

    opening = open_store(path)
    assert opening.store is None
    (message,) = opening.problems
    assert "newer version of the box (schema 7" in message and "plays on" in message
    backup = tmp_path / "store.sqlite3.schema7.bak"
    assert backup.name in message and backup.exists()
    assert _version(backup) == 7
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT count(*) FROM feedback").fetchone()[0] == 1
    copy.close()
    conn = sqlite3.connect(path)
    assert list(conn.iterdump()) == before and _version(path) == 7  # untouched
    conn.close()
    with pytest.raises(NewerStore) as raised:
        Store.open(path)
    assert isinstance(raised.value, ApplianceError)


def test_a_file_that_is_not_a_database_is_moved_aside_and_a_new_memory_started(tmp_path):
    path = tmp_path / "store.sqlite3"
    garbage = np.random.default_rng(0).bytes(50_000)
    path.write_bytes(garbage)

    opening = open_store(path)
    assert opening.store is not None
    try:
        message, started = opening.problems
        assert "damaged" in message and "nothing deleted" in message
        assert "new, empty memory" in started
        (backup,) = tmp_path.glob("store.sqlite3.damaged-*")
        assert backup.name in message and backup.read_bytes() == garbage
        assert opening.store.put(FeedbackRow("like", id="f"))
        opening.store.flush()
        assert opening.store.get(FeedbackRow, "f") is not None
    finally:
        opening.store.close()


def test_a_database_damaged_inside_is_found_on_opening(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        for i in range(300):
            store.put(PerformanceRow("p", id=f"perf{i}", latents=np.ones((40, 16))))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 40 * 4096
    for page in range(10, 30, 3):  # scribble over some of the table's pages
        data[page * 4096 : page * 4096 + 600] = b"\x5a" * 600
    path.write_bytes(bytes(data))

    with pytest.raises(ApplianceError, match="damaged") as raised:
        open_database(path)
    assert not path.exists()
    (backup,) = tmp_path.glob("store.sqlite3.damaged-*")
    assert backup.read_bytes() == bytes(data) and backup.name in str(raised.value)
    opening = open_store(path)  # the next start: a fresh memory, no problem to report
    assert opening.store is not None and opening.problems == ()
    opening.store.close()


def test_a_memory_that_cannot_be_made_is_a_message_not_a_crash(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    opening = open_store(blocker / "store.sqlite3")
    assert opening.store is None
    assert "cannot be kept" in opening.problems[0]
