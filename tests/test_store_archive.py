"""Export and import: two boxes' archives merged into a third memory, and hostile archives
refused with the reason, leaving the memory as it was."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from appliance.store import FeedbackRow, ModelVersionRow, PieceRow, Store, StoreError, StoreSettings
from appliance.store import archive as archive_module
from appliance.store.rows import ROW_TYPES
from appliance.store.schema import SCHEMA_VERSION
from tests.test_store import NOW, same, sample_rows


def _box(folder: Path, name: str) -> tuple[Store, list]:
    store = Store.open(folder / f"{name}.sqlite3", StoreSettings(keep_audio=True))
    rows = sample_rows(name, now=NOW)
    store.put_many(rows)
    store.flush()
    return store, rows


@pytest.fixture
def exported(tmp_path) -> Path:
    store, _ = _box(tmp_path, "a")
    with store:
        store.export(tmp_path / "a.zip")
    return tmp_path / "a.zip"


def test_two_boxes_archives_merge_into_a_third(tmp_path):
    boxes = [_box(tmp_path, name) for name in ("a", "b")]
    for store, _ in boxes:
        store.put(_second_feedback(store))
        manifest = store.export(tmp_path / f"{store.path.stem}.zip")
        assert manifest.schema_version == SCHEMA_VERSION and manifest.rows["feedback"] == 2
        store.close()
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        assert sorted(z.namelist()) == ["manifest.json", "store.sqlite3"]
        assert json.loads(z.read("manifest.json"))["format"] == "appliance-memory"

    with Store.open(tmp_path / "c.sqlite3", StoreSettings(keep_audio=True)) as third:
        own = ModelVersionRow("c-model", active=True)
        third.put(own)
        third.flush()
        first = third.import_archive(tmp_path / "a.zip")
        second = third.import_archive(tmp_path / "b.zip")
        assert first["feedback"] == (2, 2) and second["feedback"] == (2, 2)
        assert second["pieces"] == (0, 1)  # the same piece on both boxes: kept once
        counts = third.rows_per_table()
        assert counts["pieces"] == 1 and counts["model_versions"] == 3
        for table in ("sessions", "profiles", "performances", "utterances", "face_readings",
                      "directions_applied", "audio_clips", "tastes"):  # fmt: skip
            assert counts[table] == 2, table
        assert counts["feedback"] == 4
        for _, rows in boxes:
            for row in rows:
                back = third.get(type(row), getattr(row, row.KEY))
                if isinstance(row, ModelVersionRow):
                    assert back is not None and not back.active  # imported: never active
                else:
                    assert back is not None and same(back, row), type(row).__name__
        assert third.active_model().version == "c-model"
        again = third.import_archive(tmp_path / "a.zip")  # twice: nothing new
        assert all(added == 0 for added, _ in again.values())
        assert third.rows_per_table() == counts


def _second_feedback(store: Store) -> FeedbackRow:
    return FeedbackRow("like", performance_id=f"{store.path.stem}-perf", at=NOW + 9)


def test_an_old_archive_is_migrated_on_import(tmp_path):
    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old, isolation_level=None)
    from appliance.store.schema import migrate

    migrate(conn, upto=1)
    conn.execute("INSERT INTO pieces (id, added) VALUES ('old-piece', 1)")
    conn.close()
    archive = _zip(tmp_path, old, schema_version=1)
    with Store.open(tmp_path / "new.sqlite3") as store:
        report = store.import_archive(archive)
        assert report["pieces"] == (1, 1) and report["audio_clips"] == (0, 0)
        assert store.get(PieceRow, "old-piece") is not None


def _zip(
    folder: Path,
    database: Path,
    *,
    schema_version: int = SCHEMA_VERSION,
    sha: str | None = None,
    extra: dict[str, bytes] | None = None,
    manifest: bytes | None = None,
) -> Path:
    from appliance.paths import file_sha256

    body = (
        manifest
        or json.dumps(
            {
                "format": "appliance-memory",
                "format_version": 1,
                "schema_version": schema_version,
                "sha256": sha or file_sha256(database),
                "created": NOW,
                "rows": {},
            }
        ).encode()
    )
    out = folder / "hostile.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", body)
        z.write(database, "store.sqlite3")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out


def _snapshot_of(exported: Path, folder: Path) -> Path:
    with zipfile.ZipFile(exported) as z:
        z.extract("store.sqlite3", folder / "unpacked")
    return folder / "unpacked" / "store.sqlite3"


def _tampered(exported: Path, folder: Path, sql: str, *, unchecked: bool = False) -> Path:
    database = _snapshot_of(exported, folder)
    conn = sqlite3.connect(database, isolation_level=None)
    if unchecked:
        conn.execute("PRAGMA ignore_check_constraints = ON")
    conn.execute(sql)
    conn.close()
    return _zip(folder, database)


HOSTILE = {
    "not a zip": (lambda e, f: _bytes(f, b"PK\x03\x04 not really"), "not a readable zip"),
    "an extra member": (
        lambda e, f: _zip(f, _snapshot_of(e, f), extra={"../../evil": b"x"}),
        "exactly",
    ),
    "a manifest bomb": (
        lambda e, f: _zip(f, _snapshot_of(e, f), manifest=b" " * (50 << 20)),
        "unpacks to more than",
    ),
    "another format": (
        lambda e, f: _zip(f, _snapshot_of(e, f), manifest=b'{"format": "tarball"}'),
        "unknown format",
    ),
    "a wrong checksum": (lambda e, f: _zip(f, _snapshot_of(e, f), sha="0" * 64), "checksum"),
    "a newer schema": (lambda e, f: _zip(f, _snapshot_of(e, f), schema_version=9), "newer"),
    "a schema version the database does not have": (
        lambda e, f: _zip(f, _snapshot_of(e, f), schema_version=1),
        "not the manifest's",
    ),
    "a trigger of its own": (
        lambda e, f: _tampered(
            e, f, "CREATE TRIGGER t AFTER INSERT ON pieces BEGIN DELETE FROM pieces; END"
        ),
        "tables are not those",
    ),
    "a value over the limits": (
        lambda e, f: _tampered(
            e, f, "UPDATE utterances SET text = zeroblob(5000000)", unchecked=True
        ),
        "damaged database",
    ),
    "not a database": (
        lambda e, f: _zip(f, _bytes(f, b"SQLite format 2\x00" + b"\x00" * 5000)),
        "does not hold an SQLite database",
    ),
}


def _bytes(folder: Path, data: bytes) -> Path:
    out = folder / "blob.bin"
    out.write_bytes(data)
    return out


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_archives_are_refused_with_the_reason(case, exported, tmp_path):
    make, reason = HOSTILE[case]
    folder = tmp_path / "hostile"
    folder.mkdir()
    bad = make(exported, folder)
    with Store.open(tmp_path / "mine.sqlite3") as store:
        store.put(PieceRow("mine"))
        store.flush()
        before = store.rows_per_table()
        with pytest.raises(StoreError, match=reason):
            store.import_archive(bad)
        assert store.rows_per_table() == before
    assert not list(tmp_path.glob(".memory-import-*"))  # nothing left behind


def test_a_database_bomb_is_cut_off_while_unpacking(exported, tmp_path, monkeypatch):
    monkeypatch.setattr(archive_module, "MAX_DATABASE", 64 << 10)
    with (
        Store.open(tmp_path / "mine.sqlite3") as store,
        pytest.raises(StoreError, match="unpacks to more than"),
    ):
        store.import_archive(exported)


def test_an_archive_too_big_is_refused_before_it_is_read(exported, tmp_path, monkeypatch):
    monkeypatch.setattr(archive_module, "MAX_ARCHIVE", 1000)
    with (
        Store.open(tmp_path / "mine.sqlite3") as store,
        pytest.raises(StoreError, match="archives are at most"),
    ):
        store.import_archive(exported)


def test_every_table_is_in_the_archive(exported):
    with zipfile.ZipFile(exported) as z:
        rows = json.loads(z.read("manifest.json"))["rows"]
    assert {cls.TABLE for cls in ROW_TYPES} == set(rows)
    assert all(n == 1 for n in rows.values())
